// Build plotly-yiwang.min.js with plotly.js's own esbuild settings (its esbuild-config.js:
// iife global Plotly, global -> window, define.amd false, CSS inlined as a <style> element
// added once), minified, from plotly-entry.js. Run by build-plotly.sh.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import * as esbuild from 'esbuild';

const require = createRequire(import.meta.url);
const version = require('plotly.js/package.json').version;
const [entry, outfile] = process.argv.slice(2);

// What plotly.js's build does with maplibre-gl.css (esbuild-plugin-inline-css): a style
// element keyed by the CSS's hash, so the map's controls are styled without a CSS file.
const inlineCss = {
  name: 'inline-css',
  setup(build) {
    build.onLoad({ filter: /\.css$/ }, async (args) => {
      const css = (await esbuild.transform(await readFile(args.path, 'utf8'), {
        loader: 'css', minify: true,
      })).code.trim();
      const id = createHash('sha256').update(css).digest('hex');
      const js = `(function(){if(!document.getElementById(${JSON.stringify(id)})){` +
        `var e=document.createElement("style");e.id=${JSON.stringify(id)};` +
        `e.textContent=${JSON.stringify(css)};document.head.appendChild(e);}})();`;
      return { contents: js, loader: 'js' };
    });
  },
};

await esbuild.build({
  entryPoints: [entry],
  outfile,
  format: 'iife',
  globalName: 'Plotly',
  bundle: true,
  minify: true,
  legalComments: 'eof',
  target: 'es2016',
  define: { global: 'window', 'define.amd': 'false' },
  plugins: [inlineCss],
  banner: { js: `/* plotly.js v${version} partial bundle for yiwang: core, bar, scattermap, choroplethmap */` },
  logLevel: 'warning',
});
console.log(`wrote ${outfile} (plotly.js ${version})`);
