"""research-agent's runs (LangSmith `list_runs()` dump): a LangGraph agent on OpenAI models.

Why these: parallel web searches, reasoning tokens on o4-mini, a blocked page retried until a
larger model takes over, a recursion-limit failure, and dataset runs that share an example id,
so evaluation scores can be compared across models on the same question.
"""

from __future__ import annotations

from _model import Agent, Run
from _scripts import play_all, variants

RESEARCH_AGENT = Agent(
    "research-agent",
    "You are research-agent. Research the question with web_search and fetch_url, cite every "
    "source you use, and answer in under 250 words.",
    1400,
    "thread_",
)

RESEARCH_SCRIPTS = r"""
## pg17-performance @ 13 10:40
user Summarise the changes in PostgreSQL 17 that matter for query performance.
use gpt-4.1-mini
~ Searching for the release notes and a performance overview in parallel.
tool web_search {"query": "PostgreSQL 17 release notes performance"} => 1. PostgreSQL 17 Released! - postgresql.org/about/news/postgresql-17-released-2936\n2. Release Notes 17 - postgresql.org/docs/17/release-17.html\n3. What's new in Postgres 17 - blog (3 more results)
& web_search {"query": "PostgreSQL 17 vacuum memory btree IN list streaming I/O"} => 1. Postgres 17 vacuum uses up to 20x less memory - blog\n2. B-tree IN-list improvements in PG17 - mailing list summary
tool fetch_url {"url": "https://www.postgresql.org/about/news/postgresql-17-released-2936/"} => PostgreSQL 17 ... new memory management for vacuum (up to 20x less memory) ... improved performance for queries with IN clauses using B-tree indexes ... streaming I/O for sequential reads ... faster CTE planning ... JSON_TABLE
> PostgreSQL 17 highlights for query performance: (1) VACUUM uses a new memory structure, up to 20x less memory; (2) B-tree index scans handle IN lists far better; (3) a streaming I/O interface speeds up sequential scans and ANALYZE; (4) better planning of CTEs and IS NOT NULL clauses. Source: postgresql.org/about/news/postgresql-17-released-2936.

## iam-key-rotation @ 12 14:05
user What does AWS recommend for rotating IAM user access keys?
use gpt-4.1-mini
tool web_search {"query": "AWS rotate IAM user access keys best practice"} => 1. Update access keys - docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_access-keys.html\n2. Security best practices in IAM - docs.aws.amazon.com/IAM/latest/UserGuide/best-practices.html
tool fetch_url {"url": "https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_access-keys.html"} => ... create a second access key ... update all applications to use the new key ... make the first key inactive ... confirm nothing breaks ... delete the inactive key ... use the access key last used information ...
> AWS's procedure: create a second key (a user may have two), switch every application to it, make the old key inactive, check that nothing breaks, then delete it; "access key last used" shows stragglers. AWS's broader advice is to avoid long-term keys altogether in favour of IAM roles and temporary credentials. Source: IAM User Guide, "Update access keys".

## hybrid-search-oss @ 11 09:22
user Which open-source vector databases support hybrid keyword plus vector search natively?
use gpt-4.1-mini
~ Checking the main projects' documentation in parallel.
tool web_search {"query": "Weaviate hybrid search BM25 vector"} => 1. Hybrid search - weaviate.io/developers/weaviate/search/hybrid
& web_search {"query": "Qdrant hybrid search sparse vectors fusion"} => 1. Hybrid queries - qdrant.tech/documentation/concepts/hybrid-queries
& web_search {"query": "Milvus full text search BM25 hybrid"} => 1. Full Text Search - milvus.io/docs/full-text-search.md
> Native hybrid search: Weaviate (BM25 plus vectors with fusion, one query), Qdrant (sparse plus dense vectors with reciprocal-rank fusion in the Query API), and Milvus 2.5+ (built-in BM25 full-text search alongside vector fields). OpenSearch and Elasticsearch also combine lexical and k-NN queries. Sources: the three documentation pages above.

## lfp-degradation @ 10 15:47
user How much capacity do LFP electric-vehicle batteries typically lose per year?
use gpt-4.1-mini
tool web_search {"query": "LFP EV battery degradation per year fleet data"} => 1. EV battery health: what 10,000 vehicles tell us - geotab.com/blog/ev-battery-health\n2. LFP vs NMC cycle life - review article
tool fetch_url {"url": "https://www.geotab.com/blog/ev-battery-health/"} => ... average degradation of 1.8% per year across the fleet ... batteries that fast-charge often degrade faster ... chemistry and climate matter ...
> Fleet data suggests EV packs lose on average about 1.8% of capacity a year (Geotab, thousands of vehicles), with frequent DC fast charging and hot climates at the high end. LFP cells tolerate more full cycles than NMC, so LFP packs usually sit at or below that average. Treat these as fleet averages, not a per-vehicle guarantee. Source: geotab.com/blog/ev-battery-health.

## tokio-vs-smol @ 8 11:11
user How do the Rust async runtimes tokio and smol differ in how they schedule tasks?
use gpt-4.1-mini
tool web_search {"query": "tokio scheduler work stealing"} => 1. Making the Tokio scheduler 10x faster - tokio.rs/blog/2019-10-scheduler
& web_search {"query": "smol async-executor design"} => 1. smol - docs.rs/smol\n2. async-executor - docs.rs/async-executor
> Tokio's default runtime is a multi-threaded work-stealing scheduler: each worker has a local run queue and steals from others when idle, with a LIFO slot for message-passing patterns. smol is a small runtime built on async-executor: a simple executor with a global queue plus local queues that you drive on as many threads as you choose, and no built-in timers or I/O drivers beyond async-io. Sources: tokio.rs/blog/2019-10-scheduler, docs.rs/async-executor.

## llama31-license @ 6 13:58
user Can we use Llama 3.1 models commercially, and what are the conditions?
use gpt-4.1-mini
tool fetch_url {"url": "https://www.llama.com/llama3_1/license/"} => LLAMA 3.1 COMMUNITY LICENSE AGREEMENT ... If ... the monthly active users ... is greater than 700 million ... you must request a license from Meta ... include "Built with Llama" ... Acceptable Use Policy ...
> Yes, the Llama 3.1 Community License allows commercial use, with conditions: companies above 700 million monthly active users need a separate licence from Meta; you must follow the Acceptable Use Policy; distributions must show "Built with Llama"; and fine-tuned models you distribute must have names starting with "Llama". Source: llama.com/llama3_1/license.

## http3-hol-blocking @ 3 10:26
user What changed in HTTP/3 compared with HTTP/2 regarding head-of-line blocking?
use gpt-4.1-mini
tool web_search {"query": "HTTP/3 QUIC head-of-line blocking HTTP/2 TCP"} => 1. RFC 9114 HTTP/3 - rfc-editor.org/rfc/rfc9114\n2. RFC 9000 QUIC - rfc-editor.org/rfc/rfc9000
> HTTP/2 multiplexes streams over one TCP connection, so one lost packet stalls every stream until it is retransmitted (transport-level head-of-line blocking). HTTP/3 runs over QUIC on UDP, where streams are independent at the transport layer: a loss only delays the stream it belongs to. QPACK replaces HPACK for the same reason. Sources: RFC 9114, RFC 9000.

## gdpr-retention @ 1 16:02
user How long may a company keep customer data under the GDPR?
use gpt-4.1-mini
tool fetch_url {"url": "https://gdpr-info.eu/art-5-gdpr/"} => Article 5 ... (e) kept in a form which permits identification of data subjects for no longer than is necessary for the purposes for which the personal data are processed ...
> The GDPR sets no fixed period. Under the storage-limitation principle (Art. 5(1)(e)), data may be kept only as long as necessary for the purpose it was collected for; other laws (tax, commercial records) can require longer retention. Companies should document a retention period per purpose and delete or anonymise afterwards. Source: GDPR Art. 5.

## gpu-hours-estimate @ 12 10:05
user Estimate how many GPU-hours a month we need to serve 50 million output tokens a day if one GPU sustains 2,000 output tokens per second.
use o4-mini
tool calculator {"expression": "50000000 / 2000 / 3600 * 30"} => 208.33333333333334
> About 208 GPU-hours a month: 50M tokens a day at 2,000 tokens/s is 25,000 GPU-seconds (6.9 hours) a day, times 30 days. Real fleets need headroom for peaks and lower batch efficiency, so plan for 1.5 to 2 times that.

## reserved-vs-ondemand @ 9 14:40
user Our service needs 3 instances around the clock. On-demand costs $0.145 per hour, a 1-year no-upfront reservation $0.092 per hour. What do we save per year?
use o4-mini
tool calculator {"expression": "3 * 24 * 365 * (0.145 - 0.092)"} => 1392.84
> Reserving saves $1,392.84 a year: 3 instances x 8,760 hours x $0.053 per hour, which is 36.6% of the $3,810.60 on-demand cost. It only pays off if all three instances really run all year.

## ab-test-significance @ 5 12:12
user A/B test: variant B converted 412 of 9,850 visitors, A 371 of 9,910. Is the difference significant at 95%?
use o4-mini
tool calculator {"expression": "(412/9850 - 371/9910) / sqrt(783/19760 * (1 - 783/19760) * (1/9850 + 1/9910))"} => 1.5818512238925255
> Not significant at 95%: B converts 4.18% and A 3.74%, a two-proportion z-test gives z = 1.58 (two-sided p of about 0.11), below the 1.96 needed. You would need roughly 2.5 times the traffic to confirm a lift of this size.

## pricing-page-summary @ 4 15:35 | score=1
user Summarise the plans and prices on https://acme-analytics.example/pricing.
use gpt-4.1-mini
~ Fetching the pricing page.
tool fetch_url {"url": "https://acme-analytics.example/pricing"} =! HTTPError: 403 Forbidden (bot protection) for url https://acme-analytics.example/pricing
~ Fetching the pricing page again.
tool fetch_url {"url": "https://acme-analytics.example/pricing"} =! HTTPError: 403 Forbidden (bot protection) for url https://acme-analytics.example/pricing
~ Fetching the pricing page again.
tool fetch_url {"url": "https://acme-analytics.example/pricing"} =! HTTPError: 403 Forbidden (bot protection) for url https://acme-analytics.example/pricing
~ Fetching the pricing page again.
tool fetch_url {"url": "https://acme-analytics.example/pricing"} =! HTTPError: 403 Forbidden (bot protection) for url https://acme-analytics.example/pricing
use gpt-4.1
~ The page blocks automated requests, so retrying is pointless. The documentation site usually lists the same plans.
tool web_search {"query": "acme analytics plans pricing per seat docs"} => 1. Plans and limits - acme-analytics.example/docs/plans\n2. Acme Analytics pricing review 2026 - saasreviews.example
tool fetch_url {"url": "https://acme-analytics.example/docs/plans"} => Plans and limits: Free (3 users, 10k events/month) | Team EUR 29 per user/month (1M events) | Business EUR 79 per user/month (SSO, 10M events) | Enterprise (custom, audit logs, EU hosting)
> The pricing page blocks automated access, so this comes from Acme's own docs (acme-analytics.example/docs/plans): Free (3 users, 10k events a month), Team EUR 29 per user a month (1M events), Business EUR 79 per user a month (SSO, 10M events), Enterprise on request (audit logs, EU hosting).

## eu-cloud-revenue @ 2 11:50 | error=GraphRecursionError: Recursion limit of 12 reached without hitting a stop condition.
user List the 2025 revenue of the five largest European cloud providers, with sources.
use gpt-4.1-mini
tool web_search {"query": "largest European cloud providers 2025 revenue"} => 1. Europe's cloud market share 2025 - analyst summary (paywalled)\n2. OVHcloud annual results - corporate.ovhcloud.com
tool fetch_url {"url": "https://corporate.ovhcloud.com/en/investors/"} => OVHcloud ... fiscal year ends 31 August ... revenue ...
tool web_search {"query": "Deutsche Telekom T Cloud revenue 2025"} => 1. T-Systems annual report - no cloud-only figure
tool web_search {"query": "Schwarz Digits STACKIT revenue 2025"} => 1. STACKIT news - no revenue disclosed
tool web_search {"query": "Scaleway revenue 2025 Iliad"} => 1. Iliad group results - Scaleway not broken out
"""

RESEARCH_EVAL = r"""
## eval-lambda-payload/$v @ $when | example=lambda-payload | $opts
user What is the maximum payload size for a synchronous AWS Lambda invocation?
use $model
tool web_search {"query": "AWS Lambda invocation payload size limit"} => 1. Lambda quotas - docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html\n2. Invoke - Lambda API reference
"""
LAMBDA_WRONG = "> The maximum payload for invoking a Lambda function is 256 KB."
LAMBDA_RIGHT = (
    'tool fetch_url {"url": "https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html"} => '
    "Invocation payload (request and response): 6 MB each for synchronous; 256 KB for asynchronous ...\n"
    "> 6 MB for the request and 6 MB for the response of a synchronous invocation (256 KB applies to "
    "asynchronous invocations). Source: AWS Lambda quotas page."
)
RESEARCH_EVAL_EASY = r"""
## eval-rust-1-0/$v @ $when | example=rust-1-0 | score=1
user In which year was Rust 1.0 released?
use $model
tool web_search {"query": "Rust 1.0 release date"} => 1. Announcing Rust 1.0 - blog.rust-lang.org/2015/05/15/Rust-1.0.html
> Rust 1.0 was released on 15 May 2015. Source: blog.rust-lang.org/2015/05/15/Rust-1.0.html.
"""
RESEARCH_EVAL_413 = r"""
## eval-http-413/$v @ $when | example=http-413 | score=1
user Which HTTP status code does RFC 9110 name "Content Too Large"?
use $model
tool web_search {"query": "RFC 9110 Content Too Large status code"} => 1. RFC 9110 section 15.5.14 413 Content Too Large - rfc-editor.org/rfc/rfc9110#section-15.5.14
> 413. RFC 9110 (section 15.5.14) renamed "Payload Too Large" to "Content Too Large". Source: rfc-editor.org/rfc/rfc9110.
"""


def build_research_runs() -> list[Run]:
    texts = [
        RESEARCH_SCRIPTS,
        variants(RESEARCH_EVAL, ("mini", "9 01:10", "gpt-4.1-mini", "score=0")) + LAMBDA_WRONG,
        variants(RESEARCH_EVAL, ("o3", "9 01:25", "o3", "score=1")) + LAMBDA_RIGHT,
        variants(
            RESEARCH_EVAL_EASY, ("mini", "9 01:12", "gpt-4.1-mini", ""), ("o3", "9 01:27", "o3", "")
        ),
        variants(
            RESEARCH_EVAL_413,
            ("mini", "9 01:14", "gpt-4.1-mini", ""),
            ("mini2", "2 01:14", "gpt-4.1-mini", ""),
            ("o3", "9 01:29", "o3", ""),
        ),
    ]
    return play_all(RESEARCH_AGENT, texts)
