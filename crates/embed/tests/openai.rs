//! `OpenAiEmbedder` against the loopback mock server: batching, pacing,
//! retries, final errors, redaction, and the promise that every input ends
//! with exactly one vector or one typed failure.
//!
//! Every test runs on paused tokio time, with the server on the same
//! runtime: waits of seconds or minutes take no real time, and arrival
//! times are exact.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use pyatlas_embed::mock::{Fault, MockConfig, MockServer, Record, RetryHint};
use pyatlas_embed::{
    EmbedError, EmbedReport, Embedded, Embedder, EncodingFormat, OpenAiConfig, OpenAiEmbedder, RetryPolicy, Tokenizer,
    TooLongPolicy,
};

const DIMS: usize = 8;
const KEY: &str = "sk-test-0123456789abcdef";

async fn server(config: MockConfig) -> MockServer {
    MockServer::start(config.dimensions(DIMS)).await.expect("mock server")
}

fn config(server: &MockServer) -> OpenAiConfig {
    OpenAiConfig::new("mock-embedding-model")
        .base_url(server.url())
        .api_key(KEY)
        .expect_dimensions(DIMS)
        .retry(RetryPolicy::default().base_delay(Duration::from_millis(100)).max_delay(Duration::from_secs(2)))
}

fn texts(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("def function_{i}(argument):\n    return argument * {i}\n")).collect()
}

/// Runs `embed_each`, collecting what the callback received.
async fn run(embedder: &OpenAiEmbedder, texts: &[String]) -> (Vec<Vec<Embedded>>, EmbedReport) {
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let mut batches = Vec::new();
    let report = embedder.embed_each(&refs, &mut |batch| batches.push(batch)).await;
    (batches, report)
}

/// Every input got exactly one vector, the server's vector for its text.
fn assert_all_embedded(texts: &[String], batches: &[Vec<Embedded>], report: &EmbedReport) {
    assert!(report.is_complete(), "failures: {:?}", report.failures);
    assert_eq!(report.embedded, texts.len());
    let mut seen = vec![false; texts.len()];
    for item in batches.iter().flatten() {
        assert!(!seen[item.index], "input {} delivered twice", item.index);
        seen[item.index] = true;
        assert_eq!(item.vector, MockServer::vector_for(&texts[item.index], DIMS), "input {}", item.index);
    }
    assert!(seen.iter().all(|s| *s), "an input was not delivered");
}

fn statuses(records: &[Record]) -> Vec<u16> {
    records.iter().map(|r| r.status).collect()
}

#[tokio::test(start_paused = true)]
async fn batches_by_count_and_by_tokens() {
    let server = server(MockConfig::default()).await;
    let texts = texts(100);

    let embedder = OpenAiEmbedder::new(config(&server).max_batch_inputs(16)).expect("config");
    let (batches, report) = run(&embedder, &texts).await;
    assert_all_embedded(&texts, &batches, &report);
    let records = server.records();
    assert_eq!(records.len(), 7);
    assert!(records.iter().all(|r| r.inputs <= 16 && r.status == 200));

    let per_text = Tokenizer::Cl100kBase.count(&texts[0]);
    let budget = per_text * 5 + 2;
    let embedder = OpenAiEmbedder::new(config(&server).max_batch_tokens(budget)).expect("config");
    let (batches, report) = run(&embedder, &texts).await;
    assert_all_embedded(&texts, &batches, &report);
    let records = &server.records()[7..];
    assert!(records.iter().all(|r| r.tokens <= budget as u64), "{records:?}");
    assert!(records.len() >= 20, "{} requests", records.len());
    let sent: u64 = records.iter().map(|r| r.tokens).sum();
    assert_eq!(report.metrics.tokens, sent);
    assert_eq!(report.metrics.requests, records.len() as u64);
    assert_eq!(report.metrics.inputs_embedded, 100);
    assert_eq!(report.metrics.retries, 0);
}

#[tokio::test(start_paused = true)]
async fn float_encoding_and_embed_in_input_order() {
    let server = server(MockConfig::default()).await;
    let texts = texts(10);
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let embedder = OpenAiEmbedder::new(config(&server).encoding_format(EncodingFormat::Float).max_batch_inputs(3))
        .expect("config");
    let vectors = embedder.embed(&refs).await.expect("embedded");
    for (text, vector) in texts.iter().zip(&vectors) {
        assert_eq!(vector, &MockServer::vector_for(text, DIMS));
    }
}

#[tokio::test(start_paused = true)]
async fn items_are_matched_by_index_not_position() {
    let server = server(MockConfig::default()).await;
    server.script([Fault::ShuffledIndex]);
    let texts = texts(5);
    let embedder = OpenAiEmbedder::new(config(&server)).expect("config");
    let (batches, report) = run(&embedder, &texts).await;
    assert_all_embedded(&texts, &batches, &report);
    assert_eq!(server.records().len(), 1);
}

/// A 429 is retried after the wait the provider names, however it names it.
#[tokio::test(start_paused = true)]
async fn rate_limits_wait_as_the_provider_says() {
    let cases = [
        (RetryHint::Milliseconds(Duration::from_millis(1500)), Duration::from_millis(1500)),
        (RetryHint::Seconds(7), Duration::from_secs(7)),
        (RetryHint::Message(Duration::from_millis(2812)), Duration::from_millis(2812)),
        (RetryHint::None, Duration::ZERO),
    ];
    for (hint, wait) in cases {
        let server = server(MockConfig::default()).await;
        server.script([Fault::RateLimited(hint)]);
        let texts = texts(3);
        let embedder = OpenAiEmbedder::new(config(&server)).expect("config");
        let (batches, report) = run(&embedder, &texts).await;
        assert_all_embedded(&texts, &batches, &report);
        let records = server.records();
        assert_eq!(statuses(&records), [429, 200], "{hint:?}");
        let waited = records[1].at - records[0].at;
        assert!(waited >= wait, "{hint:?}: waited {waited:?}");
        // Without a hint: backoff with jitter, at most the first ceiling.
        assert!(waited <= wait.max(Duration::from_millis(100)) + Duration::from_millis(5), "{hint:?}: {waited:?}");
        assert_eq!((report.metrics.rate_limited, report.metrics.retries), (1, 1), "{hint:?}");
    }
}

/// A storm of 429s: every request holds back while the provider asks, not
/// only the one that was refused, and nothing is lost.
#[tokio::test(start_paused = true)]
async fn a_429_storm_pauses_everyone_and_loses_nothing() {
    let server = server(MockConfig::default()).await;
    let wait = Duration::from_millis(500);
    server.script(std::iter::repeat_n(Fault::RateLimited(RetryHint::Milliseconds(wait)), 12));
    let texts = texts(60);
    let embedder = OpenAiEmbedder::new(config(&server).max_batch_inputs(2).concurrency(4)).expect("config");
    let (batches, report) = run(&embedder, &texts).await;
    assert_all_embedded(&texts, &batches, &report);
    let records = server.records();
    assert_eq!(records.iter().filter(|r| r.status == 429).count(), 12);
    assert_eq!(records.len(), 30 + 12);
    assert_eq!(report.metrics.rate_limited, 12);
    for (i, refused) in records.iter().enumerate().filter(|(_, r)| r.status == 429) {
        for later in &records[i + 1..] {
            // Requests already on their way arrive at the same instant;
            // none is sent during the pause.
            assert!(later.at == refused.at || later.at >= refused.at + wait, "{refused:?} then {later:?}");
        }
    }
}

#[tokio::test(start_paused = true)]
async fn server_errors_and_broken_answers_are_retried() {
    let faults = [
        Fault::Status(500),
        Fault::Status(503),
        Fault::Reset,
        Fault::MalformedJson,
        Fault::MissingItem,
        Fault::DuplicateIndex,
        Fault::NonFinite,
        Fault::Delay(Duration::from_secs(30)),
    ];
    for fault in faults {
        let server = server(MockConfig::default()).await;
        server.script([fault.clone()]);
        let texts = texts(4);
        let embedder = OpenAiEmbedder::new(config(&server).request_timeout(Duration::from_secs(10))).expect("config");
        let (batches, report) = run(&embedder, &texts).await;
        assert_all_embedded(&texts, &batches, &report);
        assert_eq!(server.records().len(), 2, "{fault:?}");
        assert_eq!(report.metrics.retries, 1, "{fault:?}");
        let m = &report.metrics;
        let expected = match fault {
            Fault::Status(_) => (1, 0),
            _ => (0, 1),
        };
        assert_eq!((m.server_errors, m.transport_errors), expected, "{fault:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn retries_stop_at_the_maximum_with_a_typed_failure() {
    let server = server(MockConfig::default()).await;
    server.script(std::iter::repeat_n(Fault::Status(502), 10));
    let texts = texts(3);
    let retry = RetryPolicy::default().max_attempts(3).base_delay(Duration::from_millis(10));
    let embedder = OpenAiEmbedder::new(config(&server).retry(retry)).expect("config");
    let (batches, report) = run(&embedder, &texts).await;
    assert!(batches.is_empty());
    assert_eq!(server.records().len(), 3);
    assert_eq!(report.failures.iter().map(|f| f.index).collect::<Vec<_>>(), [0, 1, 2]);
    match &*report.failures[0].error {
        EmbedError::RetriesExhausted { attempts: 3, last } => {
            assert!(matches!(**last, EmbedError::Api { status: 502, .. }), "{last:?}");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(report.metrics.inputs_failed, 3);
}

/// 400, 401, 403, 404 and `insufficient_quota` are final: no retry, and
/// the endpoint-wide ones stop the call instead of failing batch by batch.
#[tokio::test(start_paused = true)]
async fn final_errors_are_not_retried() {
    let cases = [
        (Fault::Status(400), 400, None, false),
        (Fault::Status(401), 401, Some("invalid_api_key"), true),
        (Fault::Status(403), 403, None, true),
        (Fault::Status(404), 404, Some("model_not_found"), true),
        (Fault::InsufficientQuota, 429, Some("insufficient_quota"), true),
    ];
    for (fault, status, code, stops_the_call) in cases {
        let server = server(MockConfig::default()).await;
        server.script([fault.clone()]);
        let texts = texts(6);
        let embedder = OpenAiEmbedder::new(config(&server).max_batch_inputs(2).concurrency(1)).expect("config");
        let (batches, report) = run(&embedder, &texts).await;
        let records = server.records();
        assert_eq!(records[0].status, status, "{fault:?}");
        assert_eq!(report.metrics.retries, 0, "{fault:?}");
        assert_eq!(report.failures.len() + report.embedded, 6, "{fault:?}");
        let error = &report.failures[0].error;
        match &**error {
            EmbedError::Api { status: s, code: c, .. } => assert_eq!((*s, c.as_deref()), (status, code), "{fault:?}"),
            other => panic!("{fault:?}: unexpected {other:?}"),
        }
        assert!(error.to_string().contains(&format!("HTTP {status}")), "{error}");
        if stops_the_call {
            assert_eq!(records.len(), 1, "{fault:?}: kept sending after a fatal error");
            assert_eq!(report.failures.len(), 6, "{fault:?}");
            assert!(batches.is_empty());
        } else {
            assert_eq!(records.len(), 3, "{fault:?}");
            assert_eq!(report.failures.iter().map(|f| f.index).collect::<Vec<_>>(), [0, 1], "{fault:?}");
            assert_eq!(report.embedded, 4);
        }
    }
}

#[tokio::test(start_paused = true)]
async fn wrong_dimensions_are_final() {
    let server = server(MockConfig::default()).await;
    server.script([Fault::WrongDimensions(DIMS + 1)]);
    let texts = texts(2);
    let embedder = OpenAiEmbedder::new(config(&server)).expect("config");
    let (_, report) = run(&embedder, &texts).await;
    assert_eq!(server.records().len(), 1);
    let error = report.failures[0].error.to_string();
    assert!(error.contains("9 dimensions, expected 8"), "{error}");
}

/// The key goes in the header and nowhere else: not in `Debug`, not in
/// errors, not even when the provider quotes it back.
#[tokio::test(start_paused = true)]
async fn the_api_key_never_leaks() {
    let server = server(MockConfig::default().api_key(KEY)).await;
    server.script([Fault::EchoKey]);
    let cfg = config(&server);
    assert!(!format!("{cfg:?}").contains(KEY));
    let embedder = OpenAiEmbedder::new(cfg).expect("config");
    assert!(!format!("{embedder:?}").contains(KEY));
    let (_, report) = run(&embedder, &texts(1)).await;
    let error = &report.failures[0].error;
    for text in [error.to_string(), format!("{error:?}"), format!("{report:?}")] {
        assert!(!text.contains(KEY), "{text}");
    }
    assert!(error.to_string().contains("<redacted>"), "{error}");

    // A wrong key is refused, and that is final.
    let embedder = OpenAiEmbedder::new(config(&server).api_key("sk-wrong")).expect("config");
    let (_, report) = run(&embedder, &texts(1)).await;
    assert!(matches!(*report.failures[0].error, EmbedError::Api { status: 401, .. }));
    assert_eq!(server.records().len(), 2);
}

#[tokio::test(start_paused = true)]
async fn too_long_inputs_are_refused_or_truncated_as_told() {
    let server = server(MockConfig::default()).await;
    let long = "word ".repeat(300);
    let texts = vec!["short one".to_owned(), long.clone(), String::new(), "short two".to_owned()];

    let embedder = OpenAiEmbedder::new(config(&server).max_input_tokens(100)).expect("config");
    let (batches, report) = run(&embedder, &texts).await;
    let failed: Vec<String> = report.failures.iter().map(|f| f.error.to_string()).collect();
    assert_eq!(report.failures.iter().map(|f| f.index).collect::<Vec<_>>(), [1, 2]);
    let long_tokens = Tokenizer::Cl100kBase.count(&long);
    assert!(
        failed[0].contains(&format!("input 1 has {long_tokens} tokens, over the model's limit of 100")),
        "{failed:?}"
    );
    assert!(failed[1].contains("input 2 is empty"), "{failed:?}");
    assert_eq!(batches.iter().flatten().count(), 2);
    assert_eq!(server.records()[0].texts, ["short one", "short two"]);

    let embedder =
        OpenAiEmbedder::new(config(&server).max_input_tokens(100).too_long(TooLongPolicy::Truncate)).expect("config");
    let (batches, report) = run(&embedder, &texts).await;
    assert_eq!(report.failures.len(), 1, "only the empty input");
    assert_eq!(report.truncated.len(), 1);
    assert_eq!(
        (report.truncated[0].index, report.truncated[0].tokens, report.truncated[0].kept),
        (1, long_tokens, 100)
    );
    let sent = &server.records()[1].texts[1];
    assert!(long.starts_with(sent.as_str()) && sent.len() < long.len());
    assert_eq!(Tokenizer::Cl100kBase.count(sent), 100);
    let truncated = batches.iter().flatten().find(|e| e.index == 1).expect("input 1");
    assert_eq!(truncated.vector, MockServer::vector_for(sent, DIMS));
}

#[tokio::test(start_paused = true)]
async fn the_deadline_bounds_the_whole_call() {
    let server = server(MockConfig::default()).await;
    server.script(std::iter::repeat_n(Fault::Status(500), 100));
    let texts = texts(4);
    let retry = RetryPolicy::default().max_attempts(100).base_delay(Duration::from_millis(500));
    let embedder = OpenAiEmbedder::new(config(&server).retry(retry).deadline(Duration::from_secs(5))).expect("config");
    let start = tokio::time::Instant::now();
    let (_, report) = run(&embedder, &texts).await;
    assert!(start.elapsed() <= Duration::from_secs(5), "{:?}", start.elapsed());
    assert_eq!(report.failures.len(), 4);
    assert!(matches!(*report.failures[0].error, EmbedError::DeadlineExceeded { .. }), "{:?}", report.failures[0]);
}

/// With the provider's limits configured, the client stays under them:
/// not a single 429 from a server that enforces the same limits.
#[tokio::test(start_paused = true)]
async fn configured_limits_are_never_exceeded() {
    let server = server(MockConfig::default().requests_per_minute(20).tokens_per_minute(2_000)).await;
    let texts = texts(200);
    let embedder = OpenAiEmbedder::new(
        config(&server).requests_per_minute(20).tokens_per_minute(2_000).max_batch_inputs(4).adaptive(false),
    )
    .expect("config");
    let (batches, report) = run(&embedder, &texts).await;
    assert_all_embedded(&texts, &batches, &report);
    let records = server.records();
    assert_eq!(report.metrics.rate_limited, 0, "{:?}", statuses(&records));
    let tokens: u64 = records.iter().map(|r| r.tokens).sum();
    // A minute's burst, then the refill rate of the tighter limit.
    let minutes = records.last().expect("requests").at.as_secs_f64() / 60.0;
    let by_tokens = (tokens as f64 - 2_000.0) / 2_000.0;
    let by_requests = (records.len() as f64 - 20.0) / 20.0;
    let expected = by_tokens.max(by_requests);
    assert!(
        minutes >= expected * 0.99 && minutes <= expected * 1.05,
        "{minutes} minutes for {tokens} tokens in {} requests",
        records.len()
    );
    assert!(report.metrics.limiter_wait > Duration::from_secs(60));
}

/// The dispatcher is FIFO: a batch that needs many tokens is not starved by
/// smaller batches that came after it.
#[tokio::test(start_paused = true)]
async fn a_large_batch_is_not_starved_by_small_ones() {
    let server = server(MockConfig::default()).await;
    let embedder =
        Arc::new(OpenAiEmbedder::new(config(&server).tokens_per_minute(600).max_batch_inputs(1)).expect("config"));
    // About 12 tokens each: 50 per minute once the first minute's burst is spent.
    let small = texts(120);
    let big = vec!["alpha ".repeat(500)];
    let small_task = tokio::spawn({
        let embedder = Arc::clone(&embedder);
        async move { run(&embedder, &small).await }
    });
    tokio::time::sleep(Duration::from_secs(5)).await;
    let (_, big_report) = run(&embedder, &big).await;
    assert!(big_report.is_complete());
    let (_, small_report) = small_task.await.expect("small task");
    assert!(small_report.is_complete());
    let records = server.records();
    let big_at = records.iter().position(|r| r.tokens > 100).expect("the big batch");
    assert!(big_at < records.len() - 50, "the big batch went out {}th of {}", big_at + 1, records.len());
}

/// Without configured limits, the `x-ratelimit-*` headers alone keep the
/// client under the provider's limits.
#[tokio::test(start_paused = true)]
async fn adaptive_pacing_from_headers_avoids_429s() {
    let mut refused = Vec::new();
    for adaptive in [false, true] {
        let server = server(
            MockConfig::default()
                .tokens_per_minute(3_000)
                .latency(Duration::from_millis(100), Duration::from_millis(300)),
        )
        .await;
        let texts = texts(300);
        let embedder =
            OpenAiEmbedder::new(config(&server).max_batch_inputs(5).concurrency(4).adaptive(adaptive)).expect("config");
        let (batches, report) = run(&embedder, &texts).await;
        assert_all_embedded(&texts, &batches, &report);
        refused.push(report.metrics.rate_limited);
    }
    let [blind, adaptive] = refused[..] else { panic!("two runs") };
    eprintln!("429s: blind {blind}, adaptive {adaptive}");
    assert!(blind >= 10, "a client without limits should hit the server's: {blind}");
    assert!(adaptive * 10 <= blind, "adaptive {adaptive} vs blind {blind} 429s");
}

/// Batches reach the caller as they finish: a later failure loses nothing
/// that was already embedded.
#[tokio::test(start_paused = true)]
async fn finished_batches_are_delivered_before_a_later_failure() {
    let server = server(MockConfig::default()).await;
    server.script([Fault::Delay(Duration::ZERO), Fault::Delay(Duration::ZERO), Fault::Status(401)]);
    let texts = texts(5);
    let embedder = OpenAiEmbedder::new(config(&server).max_batch_inputs(1).concurrency(1)).expect("config");
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let delivered = Arc::new(Mutex::new(Vec::new()));
    let report = embedder
        .embed_each(&refs, &mut |batch| {
            delivered.lock().expect("lock").extend(batch.into_iter().map(|e| e.index));
        })
        .await;
    assert_eq!(*delivered.lock().expect("lock"), [0, 1]);
    assert_eq!(report.failures.iter().map(|f| f.index).collect::<Vec<_>>(), [2, 3, 4]);
    assert_eq!(server.records().len(), 3);
}

#[tokio::test(start_paused = true)]
async fn progress_is_reported_per_batch() {
    let server = server(MockConfig::default()).await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let hook = {
        let seen = Arc::clone(&seen);
        move |p: &pyatlas_embed::Progress| seen.lock().expect("lock").push((p.done, p.total, p.metrics.requests))
    };
    let embedder =
        OpenAiEmbedder::new(config(&server).max_batch_inputs(4).concurrency(1).on_progress(hook)).expect("config");
    let (_, report) = run(&embedder, &texts(10)).await;
    assert!(report.is_complete());
    assert_eq!(*seen.lock().expect("lock"), [(4, 10, 1), (8, 10, 2), (10, 10, 3)]);
    assert_eq!(embedder.metrics().requests, 3);
    assert!(report.metrics.estimated_cost_usd == 0.0, "unknown model, no price");
}

#[tokio::test(start_paused = true)]
async fn bad_configurations_are_refused() {
    let local = || OpenAiConfig::new("m").base_url("http://127.0.0.1:1/v1").api_key(KEY);
    let cases = [
        (OpenAiConfig::new("text-embedding-3-small").base_url("https://api.openai.com/v1"), "API key"),
        (local(), "dimensions"),
        (local().base_url("ftp://x").expect_dimensions(4), "not http"),
        (local().expect_dimensions(4).tokens_per_minute(0), "tokens_per_minute"),
        (local().expect_dimensions(4).concurrency(0), "concurrency"),
    ];
    for (config, expected) in cases {
        let error = OpenAiEmbedder::new(config).map(|_| ()).expect_err(expected);
        let error = error.to_string();
        assert!(error.contains(expected), "{error}");
        assert!(!error.contains(KEY));
    }
}

#[tokio::test(start_paused = true)]
async fn an_unreachable_server_is_a_transport_failure() {
    // Bind and drop, so nothing listens on the port.
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let config = OpenAiConfig::new("m")
        .base_url(format!("http://127.0.0.1:{port}/v1"))
        .expect_dimensions(4)
        .retry(RetryPolicy::default().max_attempts(2).base_delay(Duration::from_millis(10)));
    let embedder = OpenAiEmbedder::new(config).expect("config");
    let (_, report) = run(&embedder, &texts(1)).await;
    match &*report.failures[0].error {
        EmbedError::RetriesExhausted { attempts: 2, last } => {
            assert!(matches!(**last, EmbedError::Transport { .. }), "{last}");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(report.metrics.transport_errors, 2);
}

/// A request larger than the provider's tokens-per-minute limit is not a
/// rate limit: it is split in halves until it passes, and an input too
/// large by itself fails alone, without a storm of retries. Once the limit
/// is known, such an input is refused before any request.
#[tokio::test(start_paused = true)]
async fn too_large_requests_are_split_and_a_lone_input_fails_alone() {
    let server = server(MockConfig::default().tokens_per_minute(1_000)).await;
    let mut texts = texts(20);
    let huge = 7;
    texts[huge] = "alpha ".repeat(1_200);
    let embedder = OpenAiEmbedder::new(config(&server)).expect("config");
    let (batches, report) = run(&embedder, &texts).await;
    assert_eq!(report.failures.len(), 1, "{:?}", report.failures);
    assert_eq!(report.failures[0].index, huge);
    assert!(
        matches!(*report.failures[0].error, EmbedError::TooLargeForProvider { index, .. } if index == huge),
        "{}",
        report.failures[0].error
    );
    assert!(report.failures[0].error.to_string().contains("Request too large"), "{}", report.failures[0].error);
    assert_eq!(report.embedded, 19);
    let delivered: usize = batches.iter().map(Vec::len).sum();
    assert_eq!(delivered, 19);
    assert!(report.metrics.split_batches >= 1, "{:?}", report.metrics);
    let records = server.records();
    let refused = records.iter().filter(|r| r.status == 429).count();
    // The whole batch, and the lone input: nothing is sent twice as it was.
    assert!(refused <= 3, "{refused} refusals: {:?}", statuses(&records));
    assert!(records.iter().filter(|r| r.status == 200).all(|r| r.tokens <= 250), "a quarter of the limit at most");

    // The limit is known now: the input is refused before it is sent.
    let sent = records.len();
    let (_, report) = run(&embedder, &texts[huge..=huge]).await;
    assert!(
        matches!(*report.failures[0].error, EmbedError::OverRateLimit { tokens_per_minute: 1_000, .. }),
        "{}",
        report.failures[0].error
    );
    assert_eq!(server.records().len(), sent);
}

/// A retried request does not take its tokens from the limiter again: three
/// 429s with a 100 ms pause cost 300 ms, not three minutes of budget.
#[tokio::test(start_paused = true)]
async fn retries_are_not_charged_twice() {
    let server = server(MockConfig::default()).await;
    let hint = RetryHint::Milliseconds(Duration::from_millis(100));
    server.script([Fault::RateLimited(hint), Fault::RateLimited(hint), Fault::RateLimited(hint)]);
    let texts = vec!["alpha ".repeat(500), "beta ".repeat(500)];
    let embedder =
        OpenAiEmbedder::new(config(&server).tokens_per_minute(600).max_batch_inputs(1).concurrency(1)).expect("config");
    let start = tokio::time::Instant::now();
    let (batches, report) = run(&embedder, &texts).await;
    assert!(report.is_complete(), "{:?}", report.failures);
    assert_eq!(batches.len(), 2);
    let records = server.records();
    assert_eq!(statuses(&records), [429, 429, 429, 200, 200]);
    // The first input went at once and was retried after 100 ms pauses;
    // the second waited for the refill of the first's tokens, once.
    assert!(records[3].at < Duration::from_secs(1), "{:?}", records[3].at);
    let elapsed = start.elapsed();
    assert!(elapsed > Duration::from_secs(30) && elapsed < Duration::from_secs(60), "{elapsed:?}");
}

/// `status()` says what the embedder waits for: the first answer, a
/// response in flight, a pause the provider asked for, a retry after an
/// error; and how long since it last moved on.
#[tokio::test(start_paused = true)]
async fn status_says_what_it_waits_for() {
    use pyatlas_embed::Wait;

    // The backoff after the 503 has full jitter: seed this thread's random
    // numbers (the runtime runs every task here) so that it lasts seconds,
    // not a lucky few milliseconds the samples below would miss.
    let seed = (0..).find(|s| {
        let mut rng = fastrand::Rng::with_seed(*s);
        (0..8).all(|_| rng.f64() > 0.25)
    });
    fastrand::seed(seed.expect("a seed"));
    let server = server(MockConfig::default()).await;
    server.script([
        Fault::Delay(Duration::from_secs(20)),
        Fault::RateLimited(RetryHint::Seconds(30)),
        Fault::Status(503),
    ]);
    let embedder = Arc::new(
        OpenAiEmbedder::new(
            config(&server)
                .max_batch_inputs(5)
                .concurrency(1)
                .retry(RetryPolicy::default().base_delay(Duration::from_secs(40)).max_delay(Duration::from_secs(40))),
        )
        .expect("config"),
    );
    let idle = embedder.status().expect("a status");
    assert!(!idle.active && idle.waits.is_empty() && idle.since_progress.is_none(), "{idle:?}");
    let task = tokio::spawn({
        let embedder = Arc::clone(&embedder);
        async move { run(&embedder, &texts(10)).await }
    });

    // Sampled every second of the paused clock until the run ends: the
    // clock advances whenever the runtime idles, loopback I/O included, so
    // the test asserts what was seen, not when. The first request hangs for
    // 20 s while the second waits for its answer; then a 429 asks for 30 s;
    // then a 503 makes that batch back off 40 s before it is sent again.
    let (mut first_answer, mut in_flight, mut stalled, mut pause, mut retry) = (false, false, false, false, false);
    let mut moved_on = false;
    let mut seen: Vec<String> = Vec::new();
    for _ in 0..600 {
        if task.is_finished() {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        let status = embedder.status().expect("a status");
        let text = status.to_string();
        if seen.last() != Some(&text) {
            seen.push(text.clone());
        }
        for wait in &status.waits {
            match wait {
                Wait::FirstAnswer => {
                    assert!(text.contains("waiting for: the first answer"), "{text}");
                    first_answer = true;
                }
                Wait::Responses { requests: 1, oldest } if *oldest >= Duration::from_secs(9) => in_flight = true,
                Wait::ProviderPause { .. } => {
                    pause = true;
                    moved_on |= status.since_progress.is_some_and(|s| s < Duration::from_secs(10));
                }
                Wait::Retry { attempt: 2, error, .. } if error.contains("503") => {
                    assert!(text.contains("a retry of batch 2 after attempt 2 failed"), "{text}");
                    retry = true;
                }
                _ => {}
            }
        }
        stalled |= first_answer && status.since_progress.is_some_and(|s| s >= Duration::from_secs(10));
    }
    assert!(
        first_answer && in_flight && stalled,
        "the first answer, a response in flight for 9 s, no progress for 10 s"
    );
    assert!(pause && moved_on, "the provider's pause, once the first batch finished");
    assert!(retry, "the retry after the 503: {seen:#?}");

    let (_, report) = task.await.expect("join");
    assert!(report.is_complete());
    let done = embedder.status().expect("a status");
    assert!(!done.active && done.waits.is_empty(), "{done:?}");
    assert_eq!(done.metrics.requests, 4);
    assert_eq!(done.metrics.rate_limited, 1);
}
