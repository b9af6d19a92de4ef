"""The obvious alternative to the Redis allocator: a PostgreSQL ``SELECT ... FOR UPDATE SKIP
LOCKED`` claim over the same studies, the same hard eligibility and the same ranking.

What a competent PostgreSQL engineer would do, and we do:
- a partial index on waiting studies by (due, acquired, id) so the most urgent eligible study
  is found by an index scan that stops at the first eligible row;
- the ranking adjustments are bounded (a study can move forward by at most the subspecialty
  plus home-site bonus, back by the deferral and by its reading allowance), so the best study
  lies within a due-time window after the first eligible one's reading due: only that window
  is ranked (sorted) and locked;
- the on-duty radiographers' scope entries are kept per site in a small table maintained at
  session start/end (like the Redis per-bucket counts) so the deferral test is an indexed
  EXISTS;
- ids use the "C" collation so the tie-break order is the same bytewise order as Redis;
- one statement per claim (CTE + UPDATE ... RETURNING), autocommit, prepared by psycopg;
  JIT off and SSD page costs for the session (OLTP settings).

Not modelled here: push and patient grouping (they only add work to the Redis side).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg

from allocator.ranking import RankingWeights
from allocator.types import QueuedStudy, ReporterProfile

SCHEMA = """
DROP TABLE IF EXISTS study, reporter, scope_entry, rg_onduty;
CREATE UNLOGGED TABLE study (
    id text COLLATE "C" PRIMARY KEY,
    site text NOT NULL, modality text NOT NULL, body_part text, exam_code text,
    patient_age int, patient_source text, urgency text NOT NULL, subspecialty text,
    requires_sub boolean NOT NULL, work_units real NOT NULL,
    acquired_ms bigint NOT NULL, due_ms bigint NOT NULL, stage smallint NOT NULL,
    patient_key text,
    status "char" NOT NULL DEFAULT 'W',          -- W waiting, L leased, D done
    assignee text, lease_expires_ms bigint
);
CREATE TABLE reporter (
    id text PRIMARY KEY, grp text NOT NULL, home_site text, sites text[] NOT NULL,
    subs text[] NOT NULL, on_duty boolean NOT NULL DEFAULT false
);
CREATE TABLE scope_entry (
    reporter_id text NOT NULL REFERENCES reporter(id), modalities text[] NOT NULL,
    body_parts text[] NOT NULL, sources text[] NOT NULL, exam_codes text[] NOT NULL,
    min_age int, max_age int
);
CREATE INDEX scope_entry_reporter ON scope_entry (reporter_id);
-- scope entries of on-duty radiographers, one row per credentialed site
CREATE TABLE rg_onduty (
    reporter_id text NOT NULL, site text NOT NULL, subs text[] NOT NULL,
    modalities text[] NOT NULL, body_parts text[] NOT NULL, sources text[] NOT NULL,
    exam_codes text[] NOT NULL, min_age int, max_age int
);
CREATE INDEX rg_onduty_site ON rg_onduty (site);
"""

INDEXES = """
CREATE INDEX study_waiting_due ON study (due_ms, acquired_ms, id) WHERE status = 'W';
CREATE INDEX study_leases ON study (lease_expires_ms) WHERE status = 'L';
ANALYZE study; ANALYZE reporter; ANALYZE scope_entry; ANALYZE rg_onduty;
"""


def _match(e: str) -> str:
    """SQL: scope entry alias ``e`` allows study ``s`` (empty array / NULL bound = any)."""
    return f"""(cardinality({e}.modalities) = 0 OR s.modality = ANY({e}.modalities))
        AND (cardinality({e}.body_parts) = 0 OR s.body_part = ANY({e}.body_parts))
        AND (cardinality({e}.sources) = 0 OR s.patient_source = ANY({e}.sources))
        AND (cardinality({e}.exam_codes) = 0 OR s.exam_code = ANY({e}.exam_codes))
        AND ({e}.min_age IS NULL OR s.patient_age >= {e}.min_age)
        AND ({e}.max_age IS NULL OR s.patient_age <= {e}.max_age)"""


_ELIGIBLE = f"""s.status = 'W' AND s.site = ANY(me.sites)
    AND (NOT s.requires_sub OR s.stage > 0 OR s.subspecialty IS NULL
         OR s.subspecialty = ANY(me.subs))
    AND (me.any_scope OR EXISTS (
         SELECT 1 FROM scope_entry e WHERE e.reporter_id = me.id AND {_match("e")}))"""

# allocator.ranking.reading_due: the later of the due time and now + the reading allowance
_READING_DUE = """GREATEST(s.due_ms, %(now)s
    + floor(GREATEST(0, floor(s.work_units * 2 + 0.5)) * %(reading)s / 2)::bigint)"""
_SUB = "CASE WHEN s.subspecialty = ANY(me.subs) THEN %(sb)s ELSE 0 END"
_HOME = "CASE WHEN s.site = me.home_site THEN %(hb)s ELSE 0 END"
_DEFER = f"""CASE WHEN me.grp <> 'radiographer' AND s.stage = 0
        AND s.due_ms - %(now)s >= %(min_slack)s
        AND EXISTS (SELECT 1 FROM rg_onduty g WHERE g.site = s.site
            AND (NOT s.requires_sub OR s.subspecialty IS NULL OR s.subspecialty = ANY(g.subs))
            AND {_match("g")})
        THEN %(deferral)s ELSE 0 END"""

_ME = """me AS NOT MATERIALIZED (
    SELECT r.id, r.grp, r.home_site, r.sites, r.subs,
           (r.grp <> 'radiographer'
            AND NOT EXISTS (SELECT 1 FROM scope_entry x WHERE x.reporter_id = r.id)) AS any_scope
    FROM reporter r WHERE r.id = %(rid)s AND r.on_duty
)"""

# The claim as one function call (one round trip). plpgsql so the window bound found by the
# first (index-ordered) query is planned as a value: custom plans make the window an index
# range scan instead of a sequential scan with a 1/3 selectivity guess.
_BODY = f"""
DECLARE bound bigint;
BEGIN
    WITH {_ME}
    SELECT {_READING_DUE} INTO bound FROM study s, me WHERE {_ELIGIBLE}
        ORDER BY s.due_ms LIMIT 1;
    IF bound IS NULL THEN RETURN; END IF;
    RETURN QUERY
    WITH {_ME},
    pick AS (
        SELECT s.id, s.due_ms, {_SUB} AS sb, {_HOME} AS hb, {_DEFER} AS def
        FROM study s, me
        WHERE s.due_ms <= bound + %(window)s AND {_ELIGIBLE}
        ORDER BY {_READING_DUE} - {_SUB} - {_HOME} + {_DEFER}, s.due_ms, s.acquired_ms, s.id
        LIMIT 1
        FOR UPDATE OF s SKIP LOCKED
    )
    UPDATE study SET status = 'L', assignee = %(rid)s,
                     lease_expires_ms = %(now)s + %(lease)s
    FROM pick WHERE study.id = pick.id
    RETURNING study.id::text, pick.due_ms, pick.sb::bigint, pick.hb::bigint, pick.def::bigint;
END
"""

FUNCTION = (
    "CREATE OR REPLACE FUNCTION claim_next(p_rid text, p_now bigint, p_lease bigint, "
    "p_sb bigint, p_hb bigint, p_deferral bigint, p_min_slack bigint, p_window bigint, "
    "p_reading bigint) "
    "RETURNS TABLE (o_id text, o_due bigint, o_sb bigint, o_hb bigint, o_def bigint) "
    "LANGUAGE plpgsql SET plan_cache_mode = force_custom_plan AS $fn$"
    + _BODY.replace("%(", "p_").replace(")s", "")
    + "$fn$;"
)

CLAIM_SQL = "SELECT * FROM claim_next(%s, %s, %s, %s, %s, %s, %s, %s, %s)"

COMPLETE_SQL = """
UPDATE study SET status = 'D' WHERE id = %s AND assignee = %s AND status = 'L'
  AND lease_expires_ms > %s
"""

_COLUMNS = (
    "id, site, modality, body_part, exam_code, patient_age, patient_source, urgency, "
    "subspecialty, requires_sub, work_units, acquired_ms, due_ms, stage, patient_key"
)


def _row(s: QueuedStudy) -> tuple[Any, ...]:
    return (
        s.study_id, s.site, s.modality, s.body_part, s.exam_code, s.patient_age,
        s.patient_source, s.urgency, s.subspecialty, s.requires_subspecialist, s.work_units,
        s.acquired_ms, s.due_ms, s.widening_stage, s.patient_key,
    )  # fmt: skip


def ensure_database(admin_url: str, name: str) -> None:
    """Create the benchmark's own database if it is missing."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


class PgAllocator:
    """The SKIP LOCKED allocator on one connection."""

    def __init__(self, url: str, weights: RankingWeights = RankingWeights()) -> None:
        # OLTP settings: no JIT (it compiles for ~50 ms on every claim), SSD page costs
        self.conn = psycopg.connect(
            url, autocommit=True, options="-c jit=off -c random_page_cost=1.1"
        )
        self.w = weights

    def close(self) -> None:
        self.conn.close()

    def load(self, profiles: Sequence[ReporterProfile], studies: Sequence[QueuedStudy]) -> None:
        """Fresh schema, reporters and scopes, studies by COPY, then indexes and statistics."""
        c = self.conn
        c.execute(SCHEMA)
        with c.cursor() as cur:
            cur.executemany(
                "INSERT INTO reporter (id, grp, home_site, sites, subs) VALUES (%s,%s,%s,%s,%s)",
                [(p.reporter_id, p.group, p.home_site, sorted(p.sites), sorted(p.subspecialties))
                 for p in profiles],
            )  # fmt: skip
            cur.executemany(
                "INSERT INTO scope_entry VALUES (%s,%s,%s,%s,%s,%s,%s)",
                [(p.reporter_id, sorted(e.modalities), sorted(e.body_parts),
                  sorted(e.patient_sources), sorted(e.exam_codes), e.min_age, e.max_age)
                 for p in profiles for e in p.scope],
            )  # fmt: skip
            with cur.copy(f"COPY study ({_COLUMNS}) FROM STDIN") as copy:
                for s in studies:
                    copy.write_row(_row(s))
        c.execute(INDEXES)
        c.execute(FUNCTION)

    def add(self, studies: Sequence[QueuedStudy]) -> None:
        with self.conn.cursor() as cur:
            cur.executemany(
                f"INSERT INTO study ({_COLUMNS}) VALUES ({', '.join(['%s'] * 15)})",
                [_row(s) for s in studies],
            )

    def start_session(self, reporter_id: str) -> None:
        """On duty; a radiographer's entries join the per-site deferral table."""
        c = self.conn
        c.execute("UPDATE reporter SET on_duty = true WHERE id = %s", (reporter_id,))
        c.execute(
            """INSERT INTO rg_onduty
               SELECT r.id, site, r.subs, e.modalities, e.body_parts, e.sources, e.exam_codes,
                      e.min_age, e.max_age
               FROM reporter r JOIN scope_entry e ON e.reporter_id = r.id,
                    unnest(r.sites) AS site
               WHERE r.id = %s AND r.grp = 'radiographer'""",
            (reporter_id,),
        )

    def analyze(self) -> None:
        self.conn.execute("ANALYZE rg_onduty; ANALYZE reporter")

    def claim(self, reporter_id: str, now_ms: int, lease_ms: int) -> tuple[str, int] | None:
        """(study id, due) claimed, or None."""
        w = self.w
        window = w.subspecialty_bonus_ms + w.home_site_bonus_ms + w.radiographer_deferral_ms
        row = self.conn.execute(
            CLAIM_SQL,
            (reporter_id, now_ms, lease_ms, w.subspecialty_bonus_ms, w.home_site_bonus_ms,
             w.radiographer_deferral_ms, w.deferral_min_slack_ms, window,
             w.reading_ms_per_work_unit),
        ).fetchone()  # fmt: skip
        return None if row is None else (str(row[0]), int(row[1]))

    def complete(self, reporter_id: str, study_id: str, now_ms: int) -> bool:
        cur = self.conn.execute(COMPLETE_SQL, (study_id, reporter_id, now_ms))
        return cur.rowcount == 1

    def waiting(self) -> int:
        row = self.conn.execute("SELECT count(*) FROM study WHERE status = 'W'").fetchone()
        return int(row[0]) if row else 0
