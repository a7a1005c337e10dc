-- Rule quality (docs/rule-quality.md): what each rule version hit, counted in
-- the event log's transaction, so an event's hits are counted once, with it.
--
-- rule_hit_days counts hits per event-time day (days since the Unix epoch,
-- UTC) for each rule, version and mode; the row with rule '' counts every
-- event of the day, the denominator of a hit rate. Each event log writes
-- its own shard (chosen at random when it starts), so that processes
-- sharing one PostgreSQL do not all update, and wait on, one row per day;
-- reads sum the shards. rule_hit_accounts holds,
-- for each rule version and mode, the accounts it hit, first and last by
-- event time: what decisions and appeals are joined with to measure
-- precision.

-- +goose Up
CREATE TABLE rule_hit_days (
    rule    TEXT NOT NULL,
    version INTEGER NOT NULL,
    mode    TEXT NOT NULL,
    day     BIGINT NOT NULL,
    shard   INTEGER NOT NULL,
    hits    BIGINT NOT NULL,
    PRIMARY KEY (rule, version, mode, day, shard)
);
CREATE INDEX rule_hit_days_day ON rule_hit_days (day);

CREATE TABLE rule_hit_accounts (
    rule     TEXT NOT NULL,
    version  INTEGER NOT NULL,
    mode     TEXT NOT NULL,
    actor    TEXT NOT NULL,
    first_us BIGINT NOT NULL,
    last_us  BIGINT NOT NULL,
    hits     BIGINT NOT NULL,
    PRIMARY KEY (rule, version, mode, actor)
);
CREATE INDEX rule_hit_accounts_last ON rule_hit_accounts (last_us);

-- +goose Down
DROP TABLE rule_hit_accounts;
DROP TABLE rule_hit_days;
