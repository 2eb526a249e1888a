/**
 * Ctrl-C (SIGINT) and SIGTERM for long commands: stop after the current step and keep what finished.
 */
import { constants } from 'node:os';

const SIGNALS = ['SIGINT', 'SIGTERM'] as const;

export interface SignalStop {
  /** Aborted by the first SIGINT or SIGTERM. */
  readonly signal: AbortSignal;
  /** 128 + the signal's number once one was received (130 for SIGINT, 143 for SIGTERM), else undefined. */
  exitCode(): number | undefined;
  /** Removes the handlers: from then on a signal ends the process at once, as by default. */
  dispose(): void;
}

/**
 * Handles SIGINT and SIGTERM alike: the first one aborts `signal` and calls `onStop` (to say so);
 * both handlers are then removed, so that a second signal ends the process at once.
 *
 * @example const stop = stopOnSignals(() => bar.log('Interrupted...')); await work(stop.signal); stop.dispose();
 */
export function stopOnSignals(onStop: (signal: NodeJS.Signals) => void): SignalStop {
  const controller = new AbortController();
  let received: NodeJS.Signals | undefined;
  const dispose = () => {
    for (const s of SIGNALS) process.removeListener(s, handler);
  };
  const handler = (signal: NodeJS.Signals) => {
    dispose();
    received = signal;
    onStop(signal);
    controller.abort();
  };
  for (const s of SIGNALS) process.on(s, handler);
  return {
    signal: controller.signal,
    exitCode: () => (received === undefined ? undefined : 128 + constants.signals[received]),
    dispose,
  };
}
