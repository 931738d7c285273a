// Imported FIRST by bench/run.ts: graphql-js decides at module evaluation
// whether to use its development-mode `instanceOf` (which costs ~10% of a large
// predictMany), from NODE_ENV. The in-process local server of the benchmark
// runs in production mode, as the Lambda function (template.yaml) does.
process.env.NODE_ENV ??= 'production';
