#!/usr/bin/env node
// The DuckDB side of the head-to-head (perf/compare.sh): the same window outputs as `analyze --batch`, from the raw
// JSONL, with duplicate event_ids dropped. Usage: node perf/duckdb-query.mjs BATCH.jsonl [--no-dedup]
// Prints one JSON line: completed, errors, retryable_errors, drift_events, p95_s (type 7: quantile_cont on the
// millisecond values, / 1000), error_rate_pct. Invalid lines are skipped (ignore_errors and the WHERE below), not
// reported per line with a reason as the Collector does.
import { DuckDBInstance } from '@duckdb/node-api';

const file = process.argv[2];
const dedup = !process.argv.includes('--no-dedup');
if (!file) { console.error('usage: node perf/duckdb-query.mjs BATCH.jsonl [--no-dedup]'); process.exit(2); }
const src = `read_json(${`'${file.replaceAll("'", "''")}'`}, format = 'newline_delimited', ignore_errors = true,
  columns = {event_id: 'VARCHAR', ts: 'VARCHAR', event: 'VARCHAR', duration_ms: 'DOUBLE', retryable: 'BOOLEAN', error_code: 'VARCHAR'})`;
// The Collector's rules that DuckDB's typed read does not apply by itself: required fields, an RFC 3339 ts, a duration
// >= 0 on completed saves, retryable on errors. Duplicates are dropped among valid lines only, as the Collector does.
const valid = `(SELECT * FROM ${src} WHERE event_id IS NOT NULL AND event_id <> '' AND event IS NOT NULL
  AND try_cast(ts AS TIMESTAMPTZ) IS NOT NULL
  AND (event <> 'autosave.save.completed' OR duration_ms >= 0)
  AND (event <> 'autosave.save.error' OR retryable IS NOT NULL))`;
const rows = dedup ? `(SELECT DISTINCT ON (event_id) * FROM ${valid})` : valid;
const sql = `SELECT
  count(*) FILTER (WHERE event = 'autosave.save.completed') AS completed,
  count(*) FILTER (WHERE event = 'autosave.save.error') AS errors,
  count(*) FILTER (WHERE event = 'autosave.save.error' AND retryable) AS retryable_errors,
  count(*) FILTER (WHERE event = 'autosave.history.drift') AS drift_events,
  quantile_cont(duration_ms, 0.95) FILTER (WHERE event = 'autosave.save.completed') / 1000 AS p95_s
FROM ${rows}`;
const instance = await DuckDBInstance.create(':memory:');
const connection = await instance.connect();
const reader = await connection.runAndReadAll(sql);
const [r] = reader.getRowObjectsJson();
const completed = Number(r.completed), errors = Number(r.errors);
r.error_rate_pct = completed + errors === 0 ? null : 100 * errors / (completed + errors);
console.log(JSON.stringify(r));
