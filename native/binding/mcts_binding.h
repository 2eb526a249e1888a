// mctsRollouts / mctsRolloutsSync: MCTS rollouts over a search space's decision structure (see
// native/core/mcts.h), exported to JavaScript.
#pragma once

#include <napi.h>

namespace nasx::binding {

// Adds mctsRollouts and mctsRolloutsSync to the addon's exports.
void register_mcts(Napi::Env env, Napi::Object exports);

}  // namespace nasx::binding
