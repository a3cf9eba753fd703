"""A restricted lens over one request's cursor: what a role without clearance may see.

Some library functions (the network view) have no notion of restrictions. Rather than filter their
output after the fact, the request's own cursor gets TEMP views named ``mentions``, ``events``,
``network_mentions`` and ``findings`` that shadow the tables for that cursor only (DuckDB resolves the temp schema
first; other cursors, and the nightly run, see the real tables). So whatever the function
computes, it computes from what the viewer may see:

- ``drop_hub_only``: hub_only mentions do not exist (export formats; roles outside the hub).
- ``mask_health``: a health_confidential record shows only that a health contact happened and
  when: its event type becomes ``health_contact``, its presentation and safeguarding flag are
  blanked (so it adds no harm), and the other people in it (anyone but the patient) are dropped.
- the same for ``network_mentions``, the analytics' snapshot the network view reads;
- findings whose evidence rests on a hidden or masked event are left out.
"""

from __future__ import annotations

from core.store import Store


def apply_lens(store: Store, *, drop_hub_only: bool, mask_health: bool) -> None:
    if not (drop_hub_only or mask_health):
        return
    db = store.scalar("SELECT current_database()")
    real = lambda table: f'"{db}".main.{table}'  # noqa: E731
    # the restricted records, read once (a few % of the mentions): every view below joins this
    # small table instead of scanning the mentions again for each of the view's queries
    store.execute(f"CREATE OR REPLACE TEMP TABLE _lens_restricted AS SELECT mention_id, event_key, restriction "
                  f"FROM {real('mentions')} WHERE restriction <> 'none'")
    where = []
    if drop_hub_only:
        where.append("restriction <> 'hub_only'")
    if mask_health:
        where.append("NOT (restriction = 'health_confidential' AND role <> 'patient')")
    event_type = ("CASE WHEN restriction = 'health_confidential' THEN 'health_contact' ELSE event_type END"
                  if mask_health else "event_type")
    store.execute(
        f"CREATE OR REPLACE TEMP VIEW mentions AS SELECT * REPLACE ({event_type} AS event_type) "
        f"FROM {real('mentions')} WHERE {' AND '.join(where)}")
    restricted = ["'hub_only'"] if drop_hub_only else []
    if mask_health:
        restricted.append("'health_confidential'")
        store.execute(
            f"CREATE OR REPLACE TEMP VIEW events AS SELECT * REPLACE ("
            f"CASE WHEN c.event_key IS NULL THEN e.event_type ELSE 'health_contact' END AS event_type, "
            f"CASE WHEN c.event_key IS NULL THEN e.presentation END AS presentation, "
            f"CASE WHEN c.event_key IS NULL THEN e.safeguarding_concern END AS safeguarding_concern) "
            f"FROM {real('events')} e LEFT JOIN (SELECT DISTINCT event_key FROM _lens_restricted "
            f"WHERE restriction = 'health_confidential') c USING (event_key)")
    # the analytics' snapshot the network view reads: the same rules, by the record's restriction
    if store.rows("SELECT 1 FROM duckdb_tables() WHERE table_name = 'network_mentions' AND NOT temporary"):
        keep = []
        if drop_hub_only:
            keep.append("coalesce(r.restriction, 'none') <> 'hub_only'")
        if mask_health:
            keep.append("NOT (coalesce(r.restriction, 'none') = 'health_confidential' AND n.role <> 'patient')")
        masked = "coalesce(r.restriction, 'none') = 'health_confidential'" if mask_health else "FALSE"
        store.execute(
            f"CREATE OR REPLACE TEMP VIEW network_mentions AS SELECT n.* REPLACE ("
            f"CASE WHEN {masked} THEN 'health_contact' ELSE n.event_type END AS event_type, "
            f"CASE WHEN {masked} THEN FALSE ELSE n.harmed END AS harmed, "
            f"CASE WHEN {masked} THEN NULL ELSE n.severity END AS severity) "
            f"FROM {real('network_mentions')} n LEFT JOIN _lens_restricted r USING (mention_id) "
            f"WHERE {' AND '.join(keep)}")
    store.execute(
        f"CREATE OR REPLACE TEMP VIEW findings AS SELECT f.* FROM {real('findings')} f WHERE NOT EXISTS ("
        f"SELECT 1 FROM _lens_restricted m WHERE m.restriction IN ({', '.join(restricted)}) "
        f"AND (contains(f.evidence, '\"' || m.event_key || '\"') OR contains(f.evidence, '\"' || m.mention_id || '\"')))")
