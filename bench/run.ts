/**
 * `npm run bench`: every benchmark against its peer, side by side in one process, medians and ratios.
 * `npm run bench -- dcap handshake` runs a subset. Numbers go into issue notes; benchmarks never gate CI.
 */
const SUITES = ['dcap', 'snp-nitro', 'handshake', 'gateway'] as const;

const wanted = process.argv.slice(2);
const selected = SUITES.filter((s) => wanted.length === 0 || wanted.includes(s));
console.log(`ratls bench: node ${process.version}, ${new Date().toISOString()}`);
for (const name of selected) {
  console.log(`\n== ${name}`);
  const mod = (await import(`./${name}.ts`)) as { run: () => Promise<void> };
  await mod.run();
}
