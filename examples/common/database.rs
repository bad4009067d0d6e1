//! The store the `index`, `search` and `runs` examples share.

use anyhow::Context as _;
use pyatlas::store::{Store, StoreConfig};

/// Connects to `url`, or to `DATABASE_URL` when none is given.
pub(crate) async fn connect(url: Option<&str>) -> anyhow::Result<Store> {
    let url = match url {
        Some(url) => url.to_owned(),
        None => std::env::var("DATABASE_URL").context("no database: pass --database-url or set DATABASE_URL")?,
    };
    Ok(Store::connect(StoreConfig::new(&url)?).await?)
}
