/**
 * nasx — neural architecture search for TypeScript, with a native training engine.
 */
export { trainCandidates, checkTrainOptions } from './train.js';
export type { TrainOptions, TrainResult, TrainMetrics, TrainProgress, TrainingState, CandidateStatus } from './train.js';
export { lowerArch, parseArch, validateArch, ACTIVATIONS, ARCH_TYPES } from './arch/arch.js';
export type {
  Arch,
  MlpArch,
  MlpLayer,
  CnnArch,
  CnnLayer,
  ConvLayer,
  DepthwiseLayer,
  PoolLayer,
  GlobalPoolLayer,
  DenseLayer,
  DropoutLayer,
  ResidualBlock,
  GraphArch,
  Hyper,
} from './arch/arch.js';
export { describeArch } from './arch/describe.js';
export * from './data/index.js';
export { NasxError } from './errors.js';
export type { NasxErrorCode } from './errors.js';
export { native } from './native/binding.js';
export type { NativeNode, NativeOp, NativePlan, ActivationName } from './native/binding.js';
export { AbortError } from './errors.js';
export * from './space/index.js';
export { createStrategy, registerStrategy, strategyNames } from './strategies/registry.js';
export { RandomSearch } from './strategies/random.js';
export { RegularizedEvolution } from './strategies/evolution.js';
export type { Strategy, StrategyContext, Observation, StrategyStatus } from './strategies/strategy.js';
export type { Evaluator, EvalResult, EvalMetrics, EvalStatus, EvaluateOptions, EvalProgress, Fidelity } from './evaluators/evaluator.js';
export { NativeEvaluator } from './evaluators/native.js';
export type { NativeEvaluatorOptions } from './evaluators/native.js';
export { FunctionEvaluator } from './evaluators/function.js';
export { TabularEvaluator, TabularTable, getTabularBenchmark, loadCurveTable, readTabularTable, TABULAR_BENCHMARKS, NB201_LATENCY_DEVICES } from './evaluators/tabular.js';
export { tabulate, tabulateColumns, sampleArchitectures, enumerateArchitectures } from './study/tabulate.js';
export type { TabulateOptions, TabulateRow, TabulateSummary } from './study/tabulate.js';
export { createScheduler, SCHEDULER_NAMES } from './estimation/registry.js';
export type { Scheduler, SchedulerJob, SchedulerResult, SchedulerContext } from './estimation/scheduler.js';
export { StateStore } from './estimation/state-store.js';
export { WeightStore } from './estimation/weight-store.js';
export { PROXY_NAMES, proxyRanks, scoreProxies } from './estimation/proxies.js';
export { describeInheritance, inheritWeights } from './estimation/inherit.js';
export type { InheritOptions, InheritReport, Inherited, ParentModel } from './estimation/inherit.js';
export type { ProxyName, ProxyOptions, ProxyResult } from './estimation/proxies.js';
export { Study } from './study/study.js';
export type { StudyOptions, StudySummary, StudyStatus, StudyProgress, Trial, Budget } from './study/study.js';
export { MemoryStorage } from './study/storage/memory.js';
export { SqliteStorage } from './study/storage/sqlite.js';
export { openStorage, DEFAULT_STORAGE } from './study/storage/open.js';
export { SCHEMA_VERSION } from './study/storage/storage.js';
export type { Storage, StorageTx, StudyRecord, StudyListing, TrialRow, TrialState, SerialState } from './study/storage/storage.js';
export { runBenchmark } from './study/benchmark.js';
export type { BenchmarkOptions, BenchmarkResult, StrategyBenchmark } from './study/benchmark.js';
export { TfjsEvaluator, loadTfjs, TFJS_PACKAGES } from './evaluators/tfjs.js';
export type { TfjsEvaluatorOptions, TfjsPackage, LoadedTfjs } from './evaluators/tfjs.js';
export { saveModel, loadModel, MODEL_FORMAT_VERSION } from './export/model-file.js';
export type { TrainedModel, ModelDataInfo } from './export/model-file.js';
export { trainModel, toTrainedModel } from './export/train-model.js';
export { exportOnnx, ONNX_OPSETS } from './export/onnx.js';
export type { ExportOnnxOptions, OnnxExport } from './export/onnx.js';
export { validateOnnx, DEFAULT_TOLERANCE } from './export/validate.js';
export type { ValidateOnnxOptions, OnnxValidation } from './export/validate.js';
export { measureOnnxLatency, LATENCY_SETTINGS } from './export/onnx-runtime.js';
export type { CandidateLatencyOptions } from './export/candidate-latency.js';
export { PostgresStorage } from './study/storage/postgres.js';
export { parseObjectives, nonDominatedSort, crowdingDistance, hypervolume, chebyshev, dominates } from './report/pareto.js';
export type { Objective } from './report/pareto.js';
export { renderReport } from './report/report.js';
export type { ReportInput, ReportImportance } from './report/report.js';
export { explain, ABSENT } from './report/explain.js';
export type { ExplainInput, ExplainOptions, ExplainTrial, Explanation, ObjectiveExplanation, Importance, PairImportance, OptionEffect, Decision } from './report/explain.js';
export { RandomForest, CategoricalTree } from './report/forest.js';
export type { ForestOptions, LeafBox } from './report/forest.js';
export { decompose, decomposeTable, fanovaOfForest } from './report/fanova.js';
export type { Decomposition, ForestFanova, ForestFanovaOptions, Spread } from './report/fanova.js';
