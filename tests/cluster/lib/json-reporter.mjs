// node:test reporter that prints one JSON line per finished test (not suites), for
// api-conformance.test.mjs, which runs another suite in a child process and checks which of its
// tests passed, failed or were skipped.
export default async function* jsonLines(source) {
  for await (const ev of source) {
    if (ev.type !== 'test:pass' && ev.type !== 'test:fail') continue;
    if (ev.data.details?.type === 'suite') continue;
    const error = ev.data.details?.error;
    yield JSON.stringify({
      result: ev.data.skip !== undefined ? 'skip' : ev.type === 'test:pass' ? 'pass' : 'fail',
      name: ev.data.name,
      error: error ? String(error.cause?.message || error.message).slice(0, 500) : undefined,
    }) + '\n';
  }
}
