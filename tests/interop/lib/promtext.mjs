// A strict parser for Prometheus text exposition format 0.0.4, for tests of GET /metrics
// (issue 17). Stricter than Prometheus itself where that catches our mistakes: every family
// must have # HELP and # TYPE before its samples, a family's samples must be contiguous, no
// sample may repeat, histograms must be well formed (le ascending, cumulative counts never
// decreasing, a +Inf bucket equal to _count, _sum and _count present for each label set).
// Debian's `promtool` (package prometheus) was not used: 19 MB download, 96 MB installed,
// with a server and a web UI.

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

function parseValue(s, where) {
  if (s === '+Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  if (s === 'NaN') return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s)) throw new Error(`${where}: bad value ${JSON.stringify(s)}`);
  return Number(s);
}

/** Labels text between { and } (exclusive) into an object; strict escapes. */
function parseLabels(text, where) {
  const labels = {};
  let i = 0;
  while (i < text.length) {
    const eq = text.indexOf('=', i);
    if (eq < 0) throw new Error(`${where}: label without '='`);
    const name = text.slice(i, eq);
    if (!LABEL.test(name)) throw new Error(`${where}: bad label name ${JSON.stringify(name)}`);
    if (name in labels) throw new Error(`${where}: label ${name} repeated`);
    if (text[eq + 1] !== '"') throw new Error(`${where}: label value must be quoted`);
    let j = eq + 2;
    let value = '';
    for (;;) {
      if (j >= text.length) throw new Error(`${where}: unterminated label value`);
      const c = text[j];
      if (c === '\\') {
        const n = text[j + 1];
        if (n === '\\') value += '\\';
        else if (n === '"') value += '"';
        else if (n === 'n') value += '\n';
        else throw new Error(`${where}: bad escape \\${n}`);
        j += 2;
      } else if (c === '"') {
        j++;
        break;
      } else if (c === '\n') {
        throw new Error(`${where}: newline in label value`);
      } else {
        value += c;
        j++;
      }
    }
    labels[name] = value;
    if (j === text.length) break;
    if (text[j] !== ',') throw new Error(`${where}: expected ',' between labels`);
    i = j + 1;
  }
  return labels;
}

function familyOf(name, families) {
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (name.endsWith(suffix)) {
      const base = name.slice(0, -suffix.length);
      if (families.get(base)?.type === 'histogram') return base;
    }
  }
  return name;
}

/**
 * Parses the exposition text. Returns Map name -> {help, type, samples: [{name, labels, value}]}.
 * Throws an Error naming the line on any violation.
 */
export function parsePromText(text) {
  if (!text.endsWith('\n')) throw new Error('exposition must end with a newline');
  const families = new Map();
  const seenSamples = new Set();
  const closed = new Set(); // families whose samples ended (another family's began)
  let current = null;
  const lines = text.slice(0, -1).split('\n');
  lines.forEach((line, idx) => {
    const where = `line ${idx + 1} ${JSON.stringify(line.slice(0, 80))}`;
    if (line === '') throw new Error(`${where}: empty line`);
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (!m) throw new Error(`${where}: comment that is not HELP or TYPE`);
      const [, kind, name, rest] = m;
      if (!NAME.test(name)) throw new Error(`${where}: bad metric name`);
      if (closed.has(name) || (current && current !== name && families.get(name)?.samples.length))
        throw new Error(`${where}: ${kind} after the family's samples`);
      const f = families.get(name) ?? { help: undefined, type: undefined, samples: [] };
      families.set(name, f);
      if (kind === 'HELP') {
        if (f.help !== undefined) throw new Error(`${where}: second HELP`);
        if (!rest) throw new Error(`${where}: empty HELP`);
        f.help = rest;
      } else {
        if (f.type !== undefined) throw new Error(`${where}: second TYPE`);
        if (!TYPES.has(rest)) throw new Error(`${where}: bad type ${rest}`);
        if (f.samples.length) throw new Error(`${where}: TYPE after samples`);
        f.type = rest;
      }
      if (current && current !== name) closed.add(current);
      current = name;
      return;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^]*)\})? (\S+)( -?\d+)?$/.exec(line);
    if (!m) throw new Error(`${where}: not a sample line`);
    const [, name, , labelText, valueText] = m;
    const labels = labelText === undefined || labelText === '' ? {} : parseLabels(labelText, where);
    const value = parseValue(valueText, where);
    const fam = familyOf(name, families);
    const f = families.get(fam);
    if (!f || !f.type || !f.help) throw new Error(`${where}: sample before its family's HELP and TYPE`);
    if (closed.has(fam)) throw new Error(`${where}: family ${fam} is not contiguous`);
    if (current !== fam) {
      if (current) closed.add(current);
      current = fam;
    }
    const key = name + JSON.stringify(Object.entries(labels).sort());
    if (seenSamples.has(key)) throw new Error(`${where}: duplicate sample`);
    seenSamples.add(key);
    if (f.type === 'counter' && !(value >= 0)) throw new Error(`${where}: negative counter`);
    if (f.type === 'histogram' && name === fam) throw new Error(`${where}: histogram sample without a suffix`);
    if (f.type === 'histogram' && 'le' in labels !== name.endsWith('_bucket'))
      throw new Error(`${where}: le belongs on _bucket samples only`);
    f.samples.push({ name, labels, value });
  });
  for (const [name, f] of families) {
    if (!f.type || !f.help) throw new Error(`family ${name} lacks HELP or TYPE`);
    if (f.type === 'histogram') checkHistogram(name, f);
  }
  return families;
}

function checkHistogram(name, f) {
  const groups = new Map(); // label set without le -> {buckets, sum, count}
  for (const s of f.samples) {
    const { le, ...rest } = s.labels;
    const k = JSON.stringify(Object.entries(rest).sort());
    const g = groups.get(k) ?? { buckets: [], sum: undefined, count: undefined };
    groups.set(k, g);
    if (s.name.endsWith('_bucket')) g.buckets.push({ le: parseValue(le, `${name} le`), value: s.value });
    else if (s.name.endsWith('_sum')) g.sum = s.value;
    else g.count = s.value;
  }
  for (const [k, g] of groups) {
    const what = `histogram ${name}${k}`;
    if (g.sum === undefined || g.count === undefined) throw new Error(`${what}: _sum or _count missing`);
    if (!g.buckets.length || g.buckets.at(-1).le !== Infinity) throw new Error(`${what}: last bucket must be +Inf`);
    for (let i = 1; i < g.buckets.length; i++) {
      if (!(g.buckets[i].le > g.buckets[i - 1].le)) throw new Error(`${what}: le not ascending`);
      if (g.buckets[i].value < g.buckets[i - 1].value) throw new Error(`${what}: buckets not cumulative`);
    }
    if (g.buckets.at(-1).value !== g.count) throw new Error(`${what}: +Inf bucket != _count`);
    if (g.sum < 0) throw new Error(`${what}: negative _sum`);
  }
}

/** The value of one sample (0 when absent), matching every given label. */
export function sampleValue(families, name, labels = {}) {
  for (const f of families.values())
    for (const s of f.samples)
      if (s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)) return s.value;
  return 0;
}
