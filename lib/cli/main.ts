/**
 * The `nasx` command.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { NasxError } from '../errors.js';
import { native } from '../native/binding.js';
import { packageRoot } from '../util/package-root.js';
import { UsageError } from './args.js';
import { trainCommand } from './train-command.js';
import { searchCommand } from './search-command.js';
import { benchCommand } from './bench-command.js';
import { exportCommand } from './export-command.js';
import { tabulateCommand } from './tabulate-command.js';
import { proxyCommand } from './proxy-command.js';
import { studiesCommand } from './studies-command.js';
import { reportCommand } from './report-command.js';
import { explainCommand, importanceForReport } from './explain-command.js';

const USAGE = `Usage: nasx <command> [options]

Commands:
  search    search a space for the best architecture (nasx search --help)
  bench     compare strategies on a tabular benchmark (nasx bench --help)
  train     train architectures in the native engine (nasx train --help)
  export    export a trained model to ONNX, validated by ONNX Runtime (nasx export --help)
  tabulate  train a sample of a space and write a learning-curve table (nasx tabulate --help)
  proxy     score a sample of a space by zero-cost proxies, untrained (nasx proxy --help)
  studies   list, show or export the studies kept by nasx search --study (nasx studies --help)
  report    write a self-contained HTML report of a stored study (nasx report --help)
  explain   which decisions matter: fANOVA importance, interactions, per-option effects (nasx explain --help)
  info      show the native engine's build: instruction set, threads, CUDA

Options:
  --help, -h     show help
  --version      show the version
`;

function version(): string {
  return (JSON.parse(readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}

async function info(): Promise<number> {
  const b = native().buildInfo;
  process.stdout.write(
    `${JSON.stringify({ version: version(), node: process.version, platform: `${process.platform}-${process.arch}`, ...b }, null, 2)}\n`,
  );
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'search':
        return await searchCommand(rest);
      case 'bench':
        return await benchCommand(rest);
      case 'train':
        return await trainCommand(rest);
      case 'export':
        return await exportCommand(rest);
      case 'tabulate':
        return await tabulateCommand(rest);
      case 'proxy':
        return await proxyCommand(rest);
      case 'studies':
        return await studiesCommand(rest);
      case 'report':
        return await reportCommand(rest, importanceForReport);
      case 'explain':
        return await explainCommand(rest);
      case 'info':
        return await info();
      case '--version':
        process.stdout.write(`${version()}\n`);
        return 0;
      case undefined:
      case '--help':
      case '-h':
      case 'help':
        process.stdout.write(USAGE);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`Unknown command ${JSON.stringify(command)}; commands are search, bench, train, export, tabulate, proxy, studies, report, explain, info`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`nasx: ${err.message}\n`);
      return 2;
    }
    if (err instanceof NasxError || err instanceof TypeError || err instanceof RangeError) {
      process.stderr.write(`nasx: ${err.message}\n`);
      return err instanceof NasxError && err.code === 'ERR_NASX_INVALID_ARCH' ? 2 : 1;
    }
    throw err;
  }
}
