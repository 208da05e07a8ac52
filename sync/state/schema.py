"""The state store's schema as numbered migrations, written once for both dialects.

``{serial}`` becomes an auto-increment primary key, ``{bigint}`` a 64-bit integer and
``{blob}`` a byte string in each dialect; everything else (TEXT timestamps in UTC ISO form,
JSON as TEXT) is identical, so the two backends behave the same byte for byte. A migration
is never edited once released: add a new version instead.
"""

from __future__ import annotations

from typing import Final

#: the outbox's stored columns as migration 12 copies them (external_ref is computed there)
_OUTBOX_V12: Final = (
    "seq, key, revision, mapping, kind, record_ids, source_system, source_stream, source_id, status, "
    "payload, payload_hash, total, voucher_date, erp_id, erp_number, attempts, last_error, created, "
    "updated, posted, reversal_of, depends_on, reversal_style, run_id, run_records, adopted, sealed"
)

#: what migration 12 copies into them: a key that is mapping:stream:record id becomes '' (and
#: record ids that are just the source id too), as sync.state.outbox writes them since
_OUTBOX_V12_FROM_11: Final = _OUTBOX_V12.replace(
    "key,", "CASE WHEN key = mapping || ':' || source_stream || ':' || source_id THEN '' ELSE key END,", 1
).replace(
    "record_ids,",
    "CASE WHEN record_ids = '[\"' || source_id || '\"]' THEN '' ELSE record_ids END,",
    1,
)

#: version -> statements; applied in order inside one transaction each
MIGRATIONS: Final[dict[int, tuple[str | dict[str, str], ...]]] = {
    1: (
        """CREATE TABLE runs (
            id {serial},
            started TEXT NOT NULL,
            finished TEXT,
            status TEXT NOT NULL,
            counts TEXT NOT NULL DEFAULT '{{}}',
            who TEXT NOT NULL DEFAULT '',
            host TEXT NOT NULL DEFAULT '',
            pid INTEGER NOT NULL DEFAULT 0,
            message TEXT NOT NULL DEFAULT ''
        )""",
        """CREATE TABLE cursors (
            source TEXT NOT NULL,
            stream TEXT NOT NULL,
            state TEXT NOT NULL,
            updated TEXT NOT NULL,
            PRIMARY KEY (source, stream)
        )""",
        """CREATE TABLE outbox (
            seq {serial},
            key TEXT NOT NULL,
            revision TEXT NOT NULL,
            external_ref TEXT NOT NULL UNIQUE,
            mapping TEXT NOT NULL,
            kind TEXT NOT NULL,
            record_ids TEXT NOT NULL,
            source_system TEXT NOT NULL DEFAULT '',
            source_stream TEXT NOT NULL DEFAULT '',
            source_id TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL,
            payload TEXT NOT NULL,
            payload_hash TEXT NOT NULL,
            total TEXT NOT NULL DEFAULT '0',
            voucher_date TEXT NOT NULL DEFAULT '',
            erp_id TEXT,
            erp_number TEXT,
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT NOT NULL DEFAULT '',
            created TEXT NOT NULL,
            updated TEXT NOT NULL,
            posted TEXT,
            reversal_of TEXT,
            depends_on TEXT,
            reversal_style TEXT NOT NULL DEFAULT 'red',
            run_id {bigint},
            run_records INTEGER NOT NULL DEFAULT 0,
            UNIQUE (key, revision)
        )""",
        "CREATE INDEX outbox_status_seq ON outbox (status, seq)",
        "CREATE INDEX outbox_run ON outbox (run_id)",
        "CREATE INDEX outbox_source_id ON outbox (source_id)",
        """CREATE TABLE heads (
            key TEXT PRIMARY KEY,
            revision TEXT NOT NULL,
            content TEXT NOT NULL
        )""",
        """CREATE TABLE record_index (
            mapping TEXT NOT NULL,
            source TEXT NOT NULL,
            stream TEXT NOT NULL,
            record_id TEXT NOT NULL,
            voucher_keys TEXT NOT NULL,
            group_keys TEXT NOT NULL,
            updated TEXT NOT NULL,
            PRIMARY KEY (mapping, source, stream, record_id)
        )""",
        """CREATE TABLE contributions (
            mapping TEXT NOT NULL,
            group_key TEXT NOT NULL,
            record_id TEXT NOT NULL,
            payload TEXT NOT NULL,
            PRIMARY KEY (mapping, group_key, record_id)
        )""",
        """CREATE TABLE groups_dirty (
            mapping TEXT NOT NULL,
            group_key TEXT NOT NULL,
            reversal_style TEXT NOT NULL DEFAULT 'red',
            run_records INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (mapping, group_key)
        )""",
        """CREATE TABLE quarantine (
            id {serial},
            mapping TEXT NOT NULL,
            source TEXT NOT NULL,
            stream TEXT NOT NULL,
            record_id TEXT NOT NULL,
            record TEXT NOT NULL,
            problem TEXT NOT NULL,
            status TEXT NOT NULL,
            created TEXT NOT NULL,
            updated TEXT NOT NULL,
            UNIQUE (mapping, source, stream, record_id)
        )""",
        """CREATE TABLE control (
            name TEXT PRIMARY KEY,
            value TEXT NOT NULL,
            updated TEXT NOT NULL
        )""",
        """CREATE TABLE run_lock (
            id INTEGER PRIMARY KEY,
            owner TEXT NOT NULL,
            host TEXT NOT NULL,
            pid INTEGER NOT NULL,
            acquired TEXT NOT NULL,
            heartbeat TEXT NOT NULL
        )""",
    ),
    # 2: reconciliation (sync.reconcile.decisions): a person's manual match / unmatch decisions
    2: (
        """CREATE TABLE reconcile_decisions (
            id {serial},
            action TEXT NOT NULL,
            bank_id TEXT NOT NULL,
            payment_ids TEXT NOT NULL DEFAULT '[]',
            note TEXT NOT NULL DEFAULT '',
            who TEXT NOT NULL DEFAULT '',
            created TEXT NOT NULL,
            revoked TEXT
        )""",
        "CREATE INDEX reconcile_decisions_bank ON reconcile_decisions (bank_id)",
    ),
    # 3: the audit trail (sync.state.audit): an append-only, hash-chained log and its chain head.
    # A statement given as {dialect: sql} differs per backend (the append-only triggers).
    3: (
        """CREATE TABLE audit_log (
            seq {bigint} PRIMARY KEY,
            at TEXT NOT NULL,
            action TEXT NOT NULL,
            subject TEXT NOT NULL DEFAULT '',
            detail TEXT NOT NULL DEFAULT '{{}}',
            who TEXT NOT NULL DEFAULT '',
            host TEXT NOT NULL DEFAULT '',
            pid INTEGER NOT NULL DEFAULT 0,
            run_id {bigint},
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL
        )""",
        "CREATE INDEX audit_log_action ON audit_log (action, seq)",
        """CREATE TABLE audit_head (
            id INTEGER PRIMARY KEY,
            seq {bigint} NOT NULL,
            hash TEXT NOT NULL
        )""",
        "INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '" + "0" * 64 + "')",
        {
            "sqlite": """CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
                BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END""",
            "pg": """CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$""",
        },
        {
            "sqlite": """CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
                BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END""",
            "pg": """CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
                FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()""",
        },
    ),
    # 4: a quarantine entry can be dismissed by a person (status 'dismissed'): who and why
    4: ("ALTER TABLE quarantine ADD COLUMN note TEXT NOT NULL DEFAULT ''",),
    # 5: mapping versions on the record index; the latest copy of every source record mapped,
    # so `crmsync remap` can apply a changed mapping to history
    5: (
        "ALTER TABLE record_index ADD COLUMN version TEXT NOT NULL DEFAULT ''",
        """CREATE TABLE source_records (
            source TEXT NOT NULL,
            stream TEXT NOT NULL,
            record_id TEXT NOT NULL,
            payload TEXT NOT NULL,
            updated TEXT NOT NULL,
            PRIMARY KEY (source, stream, record_id)
        )""",
        "CREATE INDEX record_index_version ON record_index (mapping, source, stream, version)",
        # the reversal of a voucher, found from the voucher (`reversed_by`)
        "CREATE INDEX outbox_reversal_of ON outbox (reversal_of)",
    ),
    # 6: a voucher found already in the ERP before its first send is marked posted and
    # ``adopted`` (a lost, new or restored state never posts twice)
    6: ("ALTER TABLE outbox ADD COLUMN adopted INTEGER NOT NULL DEFAULT 0",),
    # 7: when a run was last seen alive, so one whose process died shows as interrupted with
    # the time it stopped
    7: ("ALTER TABLE runs ADD COLUMN seen TEXT",),
    # 8: customer data at rest (sync.state.sealing): the payloads kept of source records,
    # vouchers, quarantined records and summarised shares move to one sealed (compressed,
    # encrypted) blob each; the old text column keeps '' for them. ``digest`` (keyed) tells a
    # changed source record without opening the stored one.
    8: (
        "ALTER TABLE outbox ADD COLUMN sealed {blob}",
        "ALTER TABLE source_records ADD COLUMN sealed {blob}",
        "ALTER TABLE source_records ADD COLUMN digest TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE quarantine ADD COLUMN sealed {blob}",
        "ALTER TABLE contributions ADD COLUMN sealed {blob}",
    ),
    # 9: a smaller store on SQLite. The key tables become WITHOUT ROWID: a table keyed by text
    # kept its primary key twice (the rows by rowid, and an index by key); now the rows are
    # the index. PostgreSQL has no rowid: nothing to do there.
    9: (
        *(
            {"sqlite": statement}
            for statement in (
                """CREATE TABLE heads_v9 (
                    key TEXT PRIMARY KEY,
                    revision TEXT NOT NULL,
                    content TEXT NOT NULL
                ) WITHOUT ROWID""",
                "INSERT INTO heads_v9 (key, revision, content) SELECT key, revision, content FROM heads",
                "DROP TABLE heads",
                "ALTER TABLE heads_v9 RENAME TO heads",
                """CREATE TABLE record_index_v9 (
                    mapping TEXT NOT NULL,
                    source TEXT NOT NULL,
                    stream TEXT NOT NULL,
                    record_id TEXT NOT NULL,
                    voucher_keys TEXT NOT NULL,
                    group_keys TEXT NOT NULL,
                    updated TEXT NOT NULL,
                    version TEXT NOT NULL DEFAULT '',
                    PRIMARY KEY (mapping, source, stream, record_id)
                ) WITHOUT ROWID""",
                "INSERT INTO record_index_v9 (mapping, source, stream, record_id, voucher_keys, group_keys, "
                "updated, version) SELECT mapping, source, stream, record_id, voucher_keys, group_keys, "
                "updated, version FROM record_index",
                "DROP TABLE record_index",
                "ALTER TABLE record_index_v9 RENAME TO record_index",
                "CREATE INDEX record_index_version ON record_index (mapping, source, stream, version)",
            )
        ),
    ),
    # 10: the reminders' sent log moves into the store (sync.state.reminders_sent), so runs on
    # two machines over one PostgreSQL store share it; a reminder is claimed before it is sent
    10: (
        """CREATE TABLE reminders_sent (
            channel TEXT NOT NULL,
            reminder_id TEXT NOT NULL,
            account_id TEXT NOT NULL,
            sent_at TEXT NOT NULL,
            status TEXT NOT NULL,
            detail TEXT NOT NULL DEFAULT '',
            host TEXT NOT NULL DEFAULT '',
            PRIMARY KEY (channel, reminder_id)
        )""",
    ),
    # 11: the web console (sync.console): its users, their sessions, and the facts of each voucher
    # it filters and searches by (filled by the console from the outbox, never by a run); the
    # ERP number a finance clerk looks a voucher up by gets an index
    11: (
        """CREATE TABLE console_users (
            name TEXT PRIMARY KEY,
            role TEXT NOT NULL,
            password_hash TEXT NOT NULL,
            created TEXT NOT NULL,
            updated TEXT NOT NULL
        )""",
        """CREATE TABLE console_sessions (
            token_hash TEXT PRIMARY KEY,
            username TEXT NOT NULL,
            csrf_token TEXT NOT NULL,
            created TEXT NOT NULL,
            last_seen TEXT NOT NULL,
            address TEXT NOT NULL DEFAULT ''
        )""",
        "CREATE INDEX console_sessions_user ON console_sessions (username)",
        """CREATE TABLE voucher_facts (
            seq {bigint} PRIMARY KEY,
            period TEXT NOT NULL,
            voucher_group TEXT NOT NULL,
            customer TEXT NOT NULL,
            amount_cents {bigint} NOT NULL,
            search TEXT NOT NULL
        )""",
        "CREATE INDEX voucher_facts_period ON voucher_facts (period, seq)",
        "CREATE INDEX voucher_facts_customer ON voucher_facts (customer, seq)",
        "CREATE INDEX voucher_facts_amount ON voucher_facts (amount_cents, seq)",
        "CREATE INDEX outbox_erp_number ON outbox (erp_number)",
    ),
    # 12: a smaller store, and fewer indexes to keep up per voucher. The outbox loses its
    # UNIQUE (key, revision) index: external_ref is key#revision and unique already, and a
    # key's revisions are a range of it (sync.state.outbox). On SQLite external_ref becomes a
    # virtual column computed from key and revision (its unique index keeps the text once);
    # PostgreSQL, without virtual columns before 18, keeps storing it. A key that says only
    # mapping:stream:record id is stored as '' (the columns beside it say it), and record ids
    # that are just the source id too. source_records becomes WITHOUT
    # ROWID (its key was kept twice); record_index_version goes (counting a mapping's older
    # rows reads the primary key's range instead). A long audit detail (a batch of 500
    # vouchers) is kept compressed in ``packed`` (deflate), its text '' (sync.state.audit).
    # A voucher's mapping reference (name, file, line, version) is kept once in
    # ``mapping_refs`` and named by its id in the sealed payload (sync.state.mapping_refs).
    12: (
        *(
            {"sqlite": statement}
            for statement in (
                # written out in full, as migration 1 is: a released migration never changes, so it
                # shares no column list another version could edit
                """CREATE TABLE outbox_v12 (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    key TEXT NOT NULL,
                    revision TEXT NOT NULL,
                    external_ref TEXT GENERATED ALWAYS AS (
                        (CASE WHEN key = '' THEN mapping || ':' || source_stream || ':' || source_id
                        ELSE key END) || '#' || revision
                    ) VIRTUAL,
                    mapping TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    record_ids TEXT NOT NULL,
                    source_system TEXT NOT NULL DEFAULT '',
                    source_stream TEXT NOT NULL DEFAULT '',
                    source_id TEXT NOT NULL DEFAULT '',
                    status TEXT NOT NULL,
                    payload TEXT NOT NULL,
                    payload_hash TEXT NOT NULL,
                    total TEXT NOT NULL DEFAULT '0',
                    voucher_date TEXT NOT NULL DEFAULT '',
                    erp_id TEXT,
                    erp_number TEXT,
                    attempts INTEGER NOT NULL DEFAULT 0,
                    last_error TEXT NOT NULL DEFAULT '',
                    created TEXT NOT NULL,
                    updated TEXT NOT NULL,
                    posted TEXT,
                    reversal_of TEXT,
                    depends_on TEXT,
                    reversal_style TEXT NOT NULL DEFAULT 'red',
                    run_id INTEGER,
                    run_records INTEGER NOT NULL DEFAULT 0,
                    adopted INTEGER NOT NULL DEFAULT 0,
                    sealed BLOB
                )""",
                f"INSERT INTO outbox_v12 ({_OUTBOX_V12}) "
                f"SELECT {_OUTBOX_V12_FROM_11} FROM outbox ORDER BY seq",
                # AUTOINCREMENT never hands out a seq again, even one whose row is gone
                "INSERT INTO sqlite_sequence (name, seq) SELECT 'outbox_v12', seq FROM sqlite_sequence "
                "WHERE name = 'outbox' "
                "AND NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'outbox_v12')",
                "UPDATE sqlite_sequence SET seq = "
                "max(seq, (SELECT seq FROM sqlite_sequence WHERE name = 'outbox')) WHERE name = 'outbox_v12'",
                "DROP TABLE outbox",
                "ALTER TABLE outbox_v12 RENAME TO outbox",
                "CREATE UNIQUE INDEX outbox_external_ref ON outbox (external_ref)",
                "CREATE INDEX outbox_status_seq ON outbox (status, seq)",
                "CREATE INDEX outbox_run ON outbox (run_id)",
                "CREATE INDEX outbox_source_id ON outbox (source_id)",
                "CREATE INDEX outbox_reversal_of ON outbox (reversal_of)",
                "CREATE INDEX outbox_erp_number ON outbox (erp_number)",
                """CREATE TABLE source_records_v12 (
                    source TEXT NOT NULL,
                    stream TEXT NOT NULL,
                    record_id TEXT NOT NULL,
                    payload TEXT NOT NULL,
                    updated TEXT NOT NULL,
                    sealed BLOB,
                    digest TEXT NOT NULL DEFAULT '',
                    PRIMARY KEY (source, stream, record_id)
                ) WITHOUT ROWID""",
                "INSERT INTO source_records_v12 "
                "(source, stream, record_id, payload, updated, sealed, digest) "
                "SELECT source, stream, record_id, payload, updated, sealed, digest FROM source_records",
                "DROP TABLE source_records",
                "ALTER TABLE source_records_v12 RENAME TO source_records",
            )
        ),
        {
            "pg": """DO $$ DECLARE c text; BEGIN
                SELECT con.conname INTO c FROM pg_constraint con
                JOIN pg_class rel ON rel.oid = con.conrelid
                JOIN pg_namespace ns ON ns.oid = rel.relnamespace
                WHERE rel.relname = 'outbox' AND ns.nspname = current_schema() AND con.contype = 'u'
                AND (SELECT array_agg(att.attname::text ORDER BY att.attname) FROM pg_attribute att
                     WHERE att.attrelid = rel.oid AND att.attnum = ANY (con.conkey))
                    = ARRAY['key', 'revision'];
                IF c IS NOT NULL THEN EXECUTE 'ALTER TABLE outbox DROP CONSTRAINT ' || quote_ident(c); END IF;
                END $$"""
        },
        {
            "pg": "UPDATE outbox SET "
            "key = CASE WHEN key = mapping || ':' || source_stream || ':' || source_id THEN '' ELSE key END, "
            "record_ids = CASE WHEN record_ids = '[\"' || source_id || '\"]' THEN '' ELSE record_ids END"
        },
        "DROP INDEX record_index_version",
        "ALTER TABLE audit_log ADD COLUMN packed {blob}",
        """CREATE TABLE mapping_refs (
            id {serial},
            ref TEXT NOT NULL UNIQUE
        )""",
    ),
}

LATEST: Final = max(MIGRATIONS)
