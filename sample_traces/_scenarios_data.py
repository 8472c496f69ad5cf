"""data-analyst's trajectories (span JSONL): SQL questions on reasoning models.

Why a second agent in the span file: its o4-mini and o3 runs carry reasoning tokens (some turns
reason 0), and two tasks ran on both tiers: one the smaller model gets wrong, one it gets right.
The 8 routine questions are generated from one-line task rows.
"""

from __future__ import annotations

from _model import Agent, Run, dumps
from _scripts import play_all, routine_start, variants

DATA_ANALYST = Agent(
    "data-analyst",
    "You are data-analyst. Answer questions about the analytics warehouse (DuckDB) with SQL. "
    "Inspect table schemas before querying and show the SQL you used.",
    1650,
    "sess_",
)

WEEKLY_SIGNUPS = r"""
## weekly-signups-report/$v @ $when | task=weekly-signups-report | score=1$opts
user Build the weekly signups report: signups per week for the last 8 weeks, split by acquisition channel, with a chart.
use $model
tool describe_table {"table": "signups"} => signups(user_id VARCHAR, created_at TIMESTAMP, channel VARCHAR, country VARCHAR, plan VARCHAR)
tool run_sql {"sql": "SELECT date_trunc('week', created_at) AS week, channel, count(*) AS signups FROM signups WHERE created_at >= current_date - INTERVAL 8 WEEK GROUP BY ALL ORDER BY week, channel"} => 32 rows | week=2026-09-28 organic=412 paid=291 referral=77 partner=35 | ... | week=2026-11-16 organic=468 paid=352 referral=96 partner=41
tool plot_chart {"kind": "stacked_bar", "x": "week", "y": "signups", "color": "channel"} => saved charts/weekly_signups.png
> Signups grew from 815 to 957 a week over the last 8 weeks (+17%). Organic is the largest channel (49%), paid grew fastest (+21%). Chart: charts/weekly_signups.png. SQL: signups grouped by date_trunc('week', created_at) and channel.
"""

TABLES = {
    "subscriptions": "subscriptions(account_id VARCHAR, plan VARCHAR, mrr_eur DECIMAL(12,2), period_start DATE, status VARCHAR, cancelled_at TIMESTAMP)",
    "accounts": "accounts(account_id VARCHAR, name VARCHAR, region VARCHAR, seats INTEGER, created_at TIMESTAMP)",
    "signups": "signups(user_id VARCHAR, created_at TIMESTAMP, channel VARCHAR, country VARCHAR, plan VARCHAR)",
    "tickets": "tickets(ticket_id VARCHAR, account_id VARCHAR, opened_at TIMESTAMP, resolved_at TIMESTAMP, priority VARCHAR)",
    "events": "events(user_id VARCHAR, ts TIMESTAMP, name VARCHAR, props JSON)",
    "refunds": "refunds(refund_id VARCHAR, order_id VARCHAR, amount_eur DECIMAL(10,2), reason VARCHAR, created_at TIMESTAMP)",
    "plan_changes": "plan_changes(account_id VARCHAR, changed_at TIMESTAMP, from_plan VARCHAR, to_plan VARCHAR)",
}

# task | tables | question | SQL | result | answer
DATA_TASKS = """\
mrr-by-region-oct|subscriptions,accounts|What was MRR by region in October 2026, and how does it compare with September?|SELECT a.region, date_trunc('month', s.period_start) AS month, sum(s.mrr_eur) AS mrr FROM subscriptions s JOIN accounts a USING (account_id) WHERE s.period_start >= DATE '2026-09-01' AND s.period_start < DATE '2026-11-01' GROUP BY ALL ORDER BY 1, 2|6 rows | EMEA sep=412800 oct=431950 | NA sep=655100 oct=662400 | APAC sep=98700 oct=111300|MRR rose in every region in October: EMEA +4.6% (EUR 431,950), NA +1.1% (EUR 662,400), APAC +12.8% (EUR 111,300).
trial-conversion-by-channel|signups,subscriptions|Which acquisition channel converts trials to paid best over the last 90 days?|SELECT g.channel, count(*) AS trials, count(s.account_id) AS paid, round(100.0 * count(s.account_id) / count(*), 1) AS pct FROM signups g LEFT JOIN subscriptions s ON s.account_id = g.user_id AND s.status = 'active' WHERE g.created_at >= current_date - 90 GROUP BY 1 ORDER BY pct DESC|4 rows | referral 1210 trials 231 paid 19.1% | partner 540 88 16.3% | organic 6120 612 10.0% | paid 4470 313 7.0%|Referral converts best (19.1% of 1,210 trials), then partner (16.3%); paid ads convert worst (7.0%) despite the second-largest volume.
avg-ticket-resolution-time|tickets|What is the average ticket resolution time by priority this quarter?|SELECT priority, count(*) AS tickets, round(avg(epoch(resolved_at - opened_at)) / 3600, 1) AS avg_hours FROM tickets WHERE opened_at >= DATE '2026-10-01' AND resolved_at IS NOT NULL GROUP BY 1 ORDER BY avg_hours|4 rows | urgent 212 3.4h | high 845 9.8h | normal 3120 26.5h | low 990 61.2h|Average resolution this quarter: urgent 3.4 h, high 9.8 h, normal 26.5 h, low 61.2 h (5,167 resolved tickets).
daily-active-users-trend|events|How did daily active users trend over the last 30 days?|SELECT ts::DATE AS day, count(DISTINCT user_id) AS dau FROM events WHERE ts >= current_date - 30 GROUP BY 1 ORDER BY 1|30 rows | min 18204 (Sun) | max 24911 (Tue) | first week avg 21030 | last week avg 22480|DAU averaged 22,480 in the last week against 21,030 four weeks earlier (+6.9%), with the usual weekend dip to about 18,000.
refunds-over-500-nov|refunds|List refunds above EUR 500 in November and their reasons.|SELECT refund_id, order_id, amount_eur, reason FROM refunds WHERE amount_eur > 500 AND created_at >= DATE '2026-11-01' ORDER BY amount_eur DESC|7 rows | R-9921 EUR 1240.00 damaged in transit | R-9874 EUR 880.00 duplicate charge | ... | R-9802 EUR 512.50 wrong size|Seven refunds above EUR 500 in November, EUR 5,310 in total; three were damaged in transit, two duplicate charges, two returns.
cohort-retention-2026-06|signups,events|What share of the June 2026 signup cohort was still active in month 3?|SELECT count(DISTINCT e.user_id) * 100.0 / (SELECT count(*) FROM signups WHERE date_trunc('month', created_at) = DATE '2026-06-01') AS pct FROM events e JOIN signups s USING (user_id) WHERE date_trunc('month', s.created_at) = DATE '2026-06-01' AND e.ts >= DATE '2026-09-01' AND e.ts < DATE '2026-10-01'|1 row | pct=31.4|31.4% of the June 2026 cohort was still active in its third month (September).
largest-accounts-by-seats|accounts,subscriptions|Which ten accounts have the most seats, and what plan are they on?|SELECT a.name, a.seats, s.plan FROM accounts a JOIN subscriptions s USING (account_id) WHERE s.status = 'active' ORDER BY a.seats DESC LIMIT 10|10 rows | Halvorsen Logistics 2400 enterprise | Brightwater Health 1850 enterprise | ... | Okafor & Partners 610 business|The ten largest accounts have 610 to 2,400 seats; eight are on Enterprise, two (Okafor & Partners, Lumen Schools) on Business and are upsell candidates.
ticket-volume-by-weekday|tickets|On which weekday do we open the most support tickets?|SELECT dayname(opened_at) AS weekday, count(*) AS tickets FROM tickets WHERE opened_at >= current_date - 90 GROUP BY 1 ORDER BY 2 DESC|7 rows | Monday 1630 | Tuesday 1402 | ... | Sunday 310|Monday is the busiest day (1,630 tickets in 90 days, 24% of the total); Sunday the quietest (310)."""


def routine_analysis(index: int, row: str) -> str:
    """A routine o4-mini question: look at the schemas, query, sometimes fix the query, answer."""
    task, tables, question, sql, rest = row.split("|", 4)
    result, answer = rest.rsplit("|", 1)
    _, header = routine_start(task, earliest_hour=8)
    lines = [header, f"user {question}", "use o4-mini"]
    for i, table in enumerate(tables.split(",")):
        lines.append(
            f"{'&' if i else 'tool'} describe_table {dumps({'table': table})} => {TABLES[table]}"
        )
    if index % 2 == 1 and "created_at" in sql:  # a first query with a wrong column name
        wrong = sql.replace("created_at", "created", 1)
        lines.append(
            f'tool run_sql {dumps({"sql": wrong})} =! BinderException: Binder Error: Referenced column "created" not found'
        )
    lines.append(f"tool run_sql {dumps({'sql': sql})} => {result}")
    if index % 2 == 0:
        lines.append(
            f"tool plot_chart {dumps({'kind': 'bar', 'title': task})} => saved charts/{task}.png"
        )
    lines.append(f"> {answer}\\nSQL: {sql}")
    return "\n".join(lines)


DATA_SCENARIOS = r"""
## quarterly-churn-by-plan/a @ 10 10:18 | task=quarterly-churn-by-plan | score=0
user What was the churn rate per plan in Q3 2026? Count an account as churned only if it cancelled, not if it moved to another plan.
use o4-mini
tool describe_table {"table": "subscriptions"} => subscriptions(account_id VARCHAR, plan VARCHAR, mrr_eur DECIMAL(12,2), period_start DATE, status VARCHAR, cancelled_at TIMESTAMP)
tool run_sql {"sql": "SELECT plan, count(*) FILTER (WHERE status = 'cancelled') * 100.0 / count(*) AS churn_pct FROM subscriptions WHERE period_start BETWEEN DATE '2026-07-01' AND DATE '2026-09-30' GROUP BY plan"} => 3 rows | starter 9.8 | business 6.1 | enterprise 2.4
> Q3 2026 churn: Starter 9.8%, Business 6.1%, Enterprise 2.4%.

## quarterly-churn-by-plan/b @ 9 16:02 | task=quarterly-churn-by-plan | score=1
user What was the churn rate per plan in Q3 2026? Count an account as churned only if it cancelled, not if it moved to another plan.
use o3
tool describe_table {"table": "subscriptions"} => subscriptions(account_id VARCHAR, plan VARCHAR, mrr_eur DECIMAL(12,2), period_start DATE, status VARCHAR, cancelled_at TIMESTAMP)
& describe_table {"table": "plan_changes"} => plan_changes(account_id VARCHAR, changed_at TIMESTAMP, from_plan VARCHAR, to_plan VARCHAR)
~ A plan change closes the old subscription with status 'cancelled', so those rows must be excluded, and churn is per account at the start of the quarter, not per monthly row.
tool run_sql {"sql": "WITH start AS (SELECT DISTINCT account_id, plan FROM subscriptions WHERE period_start = DATE '2026-07-01' AND status = 'active'), churned AS (SELECT DISTINCT s.account_id FROM subscriptions s WHERE s.cancelled_at >= DATE '2026-07-01' AND s.cancelled_at < DATE '2026-10-01' AND NOT EXISTS (SELECT 1 FROM plan_changes c WHERE c.account_id = s.account_id AND c.changed_at::DATE = s.cancelled_at::DATE)) SELECT plan, count(*) AS accounts, count(c.account_id) AS churned, round(100.0 * count(c.account_id) / count(*), 1) AS churn_pct FROM start LEFT JOIN churned c USING (account_id) GROUP BY plan ORDER BY churn_pct DESC"} => 3 rows | starter 4120 accounts 267 churned 6.5% | business 1380 58 4.2% | enterprise 214 3 1.4%
> Q3 2026 churn by plan (accounts active on 1 July, cancelled in the quarter, plan changes excluded): Starter 6.5% (267 of 4,120), Business 4.2% (58 of 1,380), Enterprise 1.4% (3 of 214). Counting plan changes as churn would overstate it by about a third.
"""


def build_data_runs() -> list[Run]:
    texts = [routine_analysis(i, row) for i, row in enumerate(DATA_TASKS.splitlines())]
    texts += [
        DATA_SCENARIOS,
        variants(WEEKLY_SIGNUPS, ("a", "7 09:05", "o4-mini", ""), ("b", "7 09:12", "o3", "")),
    ]
    return play_all(DATA_ANALYST, texts)
