import { processIo } from './io';
import { runCli } from './program';

// The SDK warns on every run that it will need Node 22 from 2027; for a CLI that
// is noise between the command and its output (the server still shows it).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

runCli(process.argv.slice(2), processIo()).then(
  (code) => {
    process.exitCode = code;
    // onnxruntime and keep-alive sockets may hold the event loop; the work is done.
    process.stdout.write('', () => process.exit(code));
  },
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
