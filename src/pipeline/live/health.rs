//! Whether each server of a live run answers, checked before the run starts: `GET /health`
//! (vLLM, SGLang, llama.cpp), else `GET /v1/models` (any OpenAI-compatible server), with the
//! run's API key.

use std::time::Duration;

use super::auth_headers;
use super::request::error_chain;
use crate::config::OpenAiConfig;

/// How long one check request may take, connection included.
const CHECK_TIMEOUT: Duration = Duration::from_secs(5);

/// Checks every server of `config.base_urls`. One result per server, in order: `Ok` says which
/// path answered, `Err` says why neither did; each names `generator.openai.base_urls` and the
/// server.
pub async fn check_servers(config: &OpenAiConfig) -> Vec<Result<String, String>> {
    let key = "generator.openai.base_urls";
    let client = match auth_headers(config).and_then(|headers| {
        reqwest::Client::builder()
            .connect_timeout(CHECK_TIMEOUT)
            .timeout(CHECK_TIMEOUT)
            .default_headers(headers)
            .build()
            .map_err(|e| crate::pipeline::PipelineError::Generator(format!("cannot make an HTTP client: {e}")))
    }) {
        Ok(client) => client,
        Err(e) => return vec![Err(format!("{key}: {e}"))],
    };
    let mut out = Vec::with_capacity(config.base_urls.len());
    for base in &config.base_urls {
        let base = base.trim_end_matches('/');
        let mut failures = Vec::new();
        let mut answered = None;
        for path in ["/health", "/v1/models"] {
            match client.get(format!("{base}{path}")).send().await {
                Ok(r) if r.status().is_success() => {
                    answered = Some(path);
                    break;
                }
                Ok(r) => failures.push(format!("GET {path}: HTTP {}", r.status())),
                Err(e) => failures.push(format!("GET {path}: {}", error_chain(&e))),
            }
        }
        out.push(match answered {
            Some(path) => Ok(format!("{key}: {base} answers {path}")),
            None => Err(format!("{key}: server {base} does not answer: {}", failures.join("; "))),
        });
    }
    out
}
