import { describe, expect, it } from 'vitest';
import { analyze, checkExpression, parseExposition } from '../support/promql.js';

// A tiny exposition in the operator's format: a labelled counter, a plain gauge, a histogram.
const families = parseExposition(
  [
    '# HELP configpush_reconcile_total Reconciles by result.',
    '# TYPE configpush_reconcile_total counter',
    'configpush_reconcile_total{result="success"} 3',
    '# HELP configpush_workqueue_depth Keys waiting.',
    '# TYPE configpush_workqueue_depth gauge',
    'configpush_workqueue_depth 0',
    '# HELP configpush_reconcile_duration_seconds Time in one reconcile.',
    '# TYPE configpush_reconcile_duration_seconds histogram',
    'configpush_reconcile_duration_seconds_bucket{le="0.1",result="success"} 3',
    'configpush_reconcile_duration_seconds_bucket{le="+Inf",result="success"} 3',
    'configpush_reconcile_duration_seconds_sum{result="success"} 0.2',
    'configpush_reconcile_duration_seconds_count{result="success"} 3',
    '',
  ].join('\n'),
);

describe('the PromQL check', () => {
  it('reads names and labels from selectors, by/without clauses and annotations', () => {
    const use = analyze('histogram_quantile(0.99, sum by (le, result) (rate(configpush_reconcile_duration_seconds_bucket{result!="error"}[$__rate_interval]))) > 1');
    expect(use.selectors).toEqual([{ metric: 'configpush_reconcile_duration_seconds_bucket', labels: ['result'] }]);
    expect(use.groupings).toEqual([{ clause: 'by', labels: ['le', 'result'], metrics: ['configpush_reconcile_duration_seconds_bucket'] }]);
    expect(analyze('sum(rate(configpush_reconcile_total[5m])) without (result)').groupings[0]).toEqual({ clause: 'without', labels: ['result'], metrics: ['configpush_reconcile_total'] });
    // Strings never name metrics, whatever they hold.
    expect(analyze('configpush_reconcile_total{result="sum by (x) (configpush_nope)"}').selectors).toEqual([{ metric: 'configpush_reconcile_total', labels: ['result'] }]);
  });

  it('passes expressions that use only what is exported', () => {
    for (const expr of [
      'sum(rate(configpush_reconcile_total{result="error"}[5m])) / sum(rate(configpush_reconcile_total[5m])) > 0.1',
      'sum by (result) (rate(configpush_reconcile_duration_seconds_count[5m]))',
      'histogram_quantile(0.5, sum by (le) (rate(configpush_reconcile_duration_seconds_bucket[5m])))',
      '(max(configpush_workqueue_depth) or vector(0)) > 100',
      'max by (instance) (configpush_workqueue_depth)',
    ]) {
      expect(checkExpression('ok', expr, families)).toEqual([]);
    }
    expect(checkExpression('ok', 'sum by (result) (rate(configpush_reconcile_total[5m])) > 0', families, ['{{ $labels.result }} fails'])).toEqual([]);
  });

  it('fails on a metric or label that is not exported', () => {
    expect(checkExpression('typo', 'sum(configpush_workqueue_dept) > 100', families)).toEqual(['typo: metric configpush_workqueue_dept is not exported']);
    expect(checkExpression('other', 'up == 0', families)).toEqual(['other: metric up is not exported']);
    expect(checkExpression('selector', 'configpush_reconcile_total{reslt="error"}', families)).toEqual(['selector: configpush_reconcile_total has no label reslt']);
    expect(checkExpression('by', 'sum by (reason) (configpush_reconcile_total)', families)).toEqual(['by: by (reason) but configpush_reconcile_total has no label reason']);
    expect(checkExpression('le', 'sum by (le) (configpush_reconcile_total)', families)).toEqual(['le: by (le) but configpush_reconcile_total has no label le']);
    expect(checkExpression('suffix', 'configpush_workqueue_depth_bucket', families)).toEqual(['suffix: metric configpush_workqueue_depth_bucket is not exported']);
    expect(checkExpression('template', 'sum(configpush_reconcile_total) > 0', families, ['{{ $labels.result }}'])).toEqual([
      "template: an annotation uses $labels.result, which the expression's result does not carry",
    ]);
    expect(checkExpression('unreadable', '{__name__="configpush_reconcile_total"}', families)[0]).toMatch(/not supported/);
    expect(checkExpression('empty', 'vector(1)', families)).toEqual(['empty: reads no metric']);
  });
});
