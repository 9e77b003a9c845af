// Runs one OSS in its own process for tests and benchmarks: options as JSON in argv[2], a ready line on stdout.
import { configureLogging } from '../../src/lib/log.ts';
import { announceReady, onShutdown } from '../../src/lib/supervisor.ts';
import { type OssOptions, startOss } from '../../src/lustre/oss/oss-server.ts';

configureLogging({ level: 'warn' });
const opts = JSON.parse(process.argv[2] ?? '{}') as OssOptions;
const oss = await startOss(opts);
onShutdown(() => oss.close());
announceReady({ address: oss.address, ...(oss.localAddress ? { localAddress: oss.localAddress } : {}) });
