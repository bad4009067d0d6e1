//! The store the `index`, `search` and `runs` examples share.

use anyhow::Context as _;
use pyatlas::store::{Store, StoreConfig};

/// Connects to `url`, or to `DATABASE_URL` when none is given.
#[allow(dead_code, reason = "not every example that shares this file connects the default way")]
pub(crate) async fn connect(url: Option<&str>) -> anyhow::Result<Store> {
    Ok(Store::connect(config(url)?).await?)
}

/// The configuration of `url`, or of `DATABASE_URL` when none is given.
pub(crate) fn config(url: Option<&str>) -> anyhow::Result<StoreConfig> {
    let url = match url {
        Some(url) => url.to_owned(),
        None => std::env::var("DATABASE_URL").context("no database: pass --database-url or set DATABASE_URL")?,
    };
    Ok(StoreConfig::new(&url)?)
}
