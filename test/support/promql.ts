/**
 * A small PromQL reader for checking alert rules and dashboards against the
 * metrics the operator exports: which metric names an expression reads, with
 * which labels (in selectors, in by/without, and on/ignoring clauses), and
 * which labels its annotations use. Not a parser: it tokenizes, skips string
 * literals and range/offset brackets, and matches parentheses, which is
 * enough for the expressions in monitoring/; anything it cannot place is a
 * problem it reports, so it never passes an expression it did not read.
 */

export interface MetricFamily {
  /** counter, gauge, histogram, summary, untyped (from "# TYPE"). */
  type: string;
  labels: Set<string>;
}

/** The families of a Prometheus text exposition, with the label names its samples carry. */
export function parseExposition(text: string): Map<string, MetricFamily> {
  const families = new Map<string, MetricFamily>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) {
      families.set(type[1]!, { type: type[2]!, labels: new Set() });
      continue;
    }
    if (line === '' || line.startsWith('#')) continue;
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? /.exec(line);
    if (!sample) continue;
    const family = familyOf(sample[1]!, families);
    if (!family) continue;
    for (const m of (sample[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="(?:[^"\\]|\\.)*"/g)) {
      if (m[1] !== 'le' && m[1] !== 'quantile') family.family.labels.add(m[1]!);
    }
  }
  return families;
}

/** The family a sample name belongs to (histograms expose name_bucket, name_sum and name_count). */
function familyOf(name: string, families: Map<string, MetricFamily>): { name: string; family: MetricFamily; suffix: string } | undefined {
  const exact = families.get(name);
  if (exact) return { name, family: exact, suffix: '' };
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (!name.endsWith(suffix)) continue;
    const base = name.slice(0, -suffix.length);
    const family = families.get(base);
    if (family && (family.type === 'histogram' || (family.type === 'summary' && suffix !== '_bucket'))) return { name: base, family, suffix };
  }
  return undefined;
}

/** Labels Prometheus itself adds to every scraped series (the target's), which no exporter exports. */
export const TARGET_LABELS = new Set(['instance', 'job']);

interface Token {
  kind: 'ident' | 'punct' | 'string' | 'number' | 'range';
  text: string;
}

const AGGREGATIONS = new Set(['sum', 'min', 'max', 'avg', 'group', 'stddev', 'stdvar', 'count', 'count_values', 'bottomk', 'topk', 'quantile', 'limitk', 'limit_ratio']);
const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset', 'and', 'or', 'unless', 'atan2', 'inf', 'nan', 'Inf', 'NaN']);
const GROUPING = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);

export function tokenize(expr: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < expr.length) {
    const c = expr[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '#') {
      while (i < expr.length && expr[i] !== '\n') i++;
    } else if (c === '"' || c === "'" || c === '`') {
      let j = i + 1;
      while (j < expr.length && expr[j] !== c) j += expr[j] === '\\' && c !== '`' ? 2 : 1;
      if (j >= expr.length) throw new Error(`unterminated string in ${JSON.stringify(expr)}`);
      tokens.push({ kind: 'string', text: expr.slice(i, j + 1) });
      i = j + 1;
    } else if (c === '[') {
      // A range or subquery: [5m], [$__rate_interval], [1h:1m]. Nothing in it names a metric.
      const j = expr.indexOf(']', i);
      if (j < 0) throw new Error(`unterminated [ in ${JSON.stringify(expr)}`);
      tokens.push({ kind: 'range', text: expr.slice(i, j + 1) });
      i = j + 1;
    } else if (/[a-zA-Z_:]/.test(c)) {
      const m = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(expr.slice(i))!;
      tokens.push({ kind: 'ident', text: m[0] });
      i += m[0].length;
    } else if (/[0-9.]/.test(c)) {
      const m = /^[0-9.]+(?:e[+-]?[0-9]+)?[a-z]*/i.exec(expr.slice(i))!;
      tokens.push({ kind: 'number', text: m[0] });
      i += m[0].length;
    } else if (c === '$') {
      // A Grafana variable outside a range, e.g. $__interval in a function argument.
      const m = /^\$\{?[a-zA-Z_][a-zA-Z0-9_]*\}?/.exec(expr.slice(i));
      if (!m) throw new Error(`stray $ in ${JSON.stringify(expr)}`);
      tokens.push({ kind: 'number', text: m[0] });
      i += m[0].length;
    } else {
      const two = expr.slice(i, i + 2);
      const op = ['!=', '=~', '!~', '==', '>=', '<='].includes(two) ? two : c;
      tokens.push({ kind: 'punct', text: op });
      i += op.length;
    }
  }
  return tokens;
}

export interface ExpressionUse {
  /** Every metric name read, with the label names its selector matches on. */
  selectors: { metric: string; labels: string[] }[];
  /** Every by/without/on/ignoring clause, with the metrics it applies to. */
  groupings: { clause: string; labels: string[]; metrics: string[] }[];
  /** Labels the result can carry (by clauses, or every label when none aggregates them away): for {{ $labels.x }} checks. */
  outputLabels: Set<string>;
}

/** Index of the parenthesis matching tokens[open] (which must be "("). */
function matching(tokens: Token[], open: number): number {
  let depth = 0;
  for (let i = open; i < tokens.length; i++) {
    if (tokens[i]!.text === '(' && tokens[i]!.kind === 'punct') depth++;
    if (tokens[i]!.text === ')' && tokens[i]!.kind === 'punct' && --depth === 0) return i;
  }
  throw new Error('unbalanced parentheses');
}

function matchingBackwards(tokens: Token[], close: number): number {
  let depth = 0;
  for (let i = close; i >= 0; i--) {
    if (tokens[i]!.text === ')' && tokens[i]!.kind === 'punct') depth++;
    if (tokens[i]!.text === '(' && tokens[i]!.kind === 'punct' && --depth === 0) return i;
  }
  throw new Error('unbalanced parentheses');
}

export function analyze(expr: string): ExpressionUse {
  const tokens = tokenize(expr);
  const selectors: ExpressionUse['selectors'] = [];
  const groupings: ExpressionUse['groupings'] = [];
  const metricAt = new Map<number, string>();
  const skip = new Set<number>();

  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.kind === 'punct' && t.text === '{') {
      // A selector's braces: the metric name is the identifier right before them.
      const close = tokens.findIndex((x, j) => j > i && x.kind === 'punct' && x.text === '}');
      if (close < 0) throw new Error(`unterminated { in ${JSON.stringify(expr)}`);
      const before = tokens[i - 1];
      if (!before || before.kind !== 'ident') throw new Error(`a selector without a metric name in ${JSON.stringify(expr)}: not supported`);
      const labels: string[] = [];
      for (let j = i + 1; j < close; j++) {
        const x = tokens[j]!;
        if (x.kind === 'ident') {
          const op = tokens[j + 1]?.text ?? '';
          if (!['=', '!=', '=~', '!~'].includes(op) || tokens[j + 2]?.kind !== 'string') throw new Error(`cannot read the matcher at ${x.text} in ${JSON.stringify(expr)}`);
          if (x.text === '__name__') throw new Error(`__name__ matchers are not supported: ${JSON.stringify(expr)}`);
          labels.push(x.text);
          j += 2;
        }
      }
      const entry = metricAt.get(i - 1) === before.text ? selectors.at(-1) : undefined;
      if (!entry) throw new Error(`${before.text}{...} is not a metric selector I can read in ${JSON.stringify(expr)}`);
      entry.labels.push(...labels);
      for (let j = i; j <= close; j++) skip.add(j);
      i = close;
      continue;
    }
    if (t.kind !== 'ident' || skip.has(i)) continue;
    if (GROUPING.has(t.text)) {
      const open = i + 1;
      if (tokens[open]?.text !== '(') {
        if (t.text === 'group_left' || t.text === 'group_right') continue;
        throw new Error(`${t.text} without a label list in ${JSON.stringify(expr)}`);
      }
      const close = matching(tokens, open);
      const labels = tokens.slice(open + 1, close).filter((x) => x.kind === 'ident').map((x) => x.text);
      for (let j = open; j <= close; j++) skip.add(j);
      // The aggregation's argument: "agg by (l) (arg)" or "agg (arg) by (l)".
      let span: [number, number];
      if (t.text === 'by' || t.text === 'without') {
        if (tokens[close + 1]?.text === '(') span = [close + 1, matching(tokens, close + 1)];
        else if (tokens[i - 1]?.text === ')') span = [matchingBackwards(tokens, i - 1), i - 1];
        else throw new Error(`cannot find what ${t.text} (${labels.join(', ')}) aggregates in ${JSON.stringify(expr)}`);
      } else {
        span = [0, tokens.length - 1]; // on/ignoring: both sides of the binary operation; the whole expression is a safe superset
      }
      const metrics = tokens
        .slice(span[0], span[1] + 1)
        .filter((x) => x.kind === 'ident' && x.text.startsWith('configpush_'))
        .map((x) => x.text);
      groupings.push({ clause: t.text, labels, metrics: [...new Set(metrics)] });
      i = close;
      continue;
    }
    const next = tokens[i + 1];
    if (next?.kind === 'punct' && next.text === '(') continue; // a function call
    if (AGGREGATIONS.has(t.text) && (next?.text === 'by' || next?.text === 'without')) continue;
    if (KEYWORDS.has(t.text) || AGGREGATIONS.has(t.text)) continue;
    // Anything else is a metric name, configpush_ or not: the check then says whether it is exported.
    selectors.push({ metric: t.text, labels: [] });
    metricAt.set(i, t.text);
  }

  const by = groupings.filter((g) => g.clause === 'by');
  const outputLabels = new Set<string>(by.length > 0 ? by.at(-1)!.labels : selectors.flatMap((s) => s.labels));
  return { selectors, groupings, outputLabels };
}

/** What a family offers under one sample name: its labels, plus le on _bucket. */
function labelsOf(name: string, families: Map<string, MetricFamily>): Set<string> | undefined {
  const found = familyOf(name, families);
  if (!found) return undefined;
  const labels = new Set([...found.family.labels, ...TARGET_LABELS]);
  if (found.suffix === '_bucket') labels.add('le');
  if (found.family.type === 'summary' && found.suffix === '') labels.add('quantile');
  return labels;
}

/**
 * Every problem with one expression against the exported families: a metric
 * that is not exported, a label a selector or a grouping uses that the metric
 * does not have, a {{ $labels.x }} the result cannot carry.
 */
export function checkExpression(where: string, expr: string, families: Map<string, MetricFamily>, templates: string[] = []): string[] {
  const problems: string[] = [];
  let use: ExpressionUse;
  try {
    use = analyze(expr);
  } catch (err) {
    return [`${where}: ${(err as Error).message}`];
  }
  if (use.selectors.length === 0) problems.push(`${where}: reads no metric`);
  for (const { metric, labels } of use.selectors) {
    const offered = labelsOf(metric, families);
    if (!offered) {
      problems.push(`${where}: metric ${metric} is not exported`);
      continue;
    }
    for (const label of labels) if (!offered.has(label)) problems.push(`${where}: ${metric} has no label ${label}`);
  }
  for (const { clause, labels, metrics } of use.groupings) {
    for (const metric of metrics) {
      const offered = labelsOf(metric, families);
      if (!offered) continue; // reported above
      for (const label of labels) if (!offered.has(label)) problems.push(`${where}: ${clause} (${label}) but ${metric} has no label ${label}`);
    }
  }
  for (const text of templates) {
    for (const m of text.matchAll(/\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)/g)) {
      if (!use.outputLabels.has(m[1]!)) problems.push(`${where}: an annotation uses $labels.${m[1]}, which the expression's result does not carry`);
    }
  }
  return problems;
}
