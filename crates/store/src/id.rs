//! The ids of the store's rows: one shape for every table keyed by a
//! `bigserial`.

/// A newtype over a `bigserial` id: serialised as the bare number,
/// printed and parsed as it, and bound to SQL as `INT8`.
macro_rules! row_id {
    ($(#[$doc:meta])* $name:ident, $column:literal) => {
        $(#[$doc])*
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(i64);

        impl $name {
            #[doc = concat!("Wraps an id (as `", $column, "` holds it).")]
            pub fn new(id: i64) -> Self {
                Self(id)
            }

            /// The number.
            pub fn get(self) -> i64 {
                self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::num::ParseIntError;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                text.parse().map(Self)
            }
        }

        impl tokio_postgres::types::ToSql for $name {
            fn to_sql(
                &self,
                ty: &tokio_postgres::types::Type,
                out: &mut tokio_postgres::types::private::BytesMut,
            ) -> Result<tokio_postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
                self.0.to_sql(ty, out)
            }

            tokio_postgres::types::accepts!(INT8);
            tokio_postgres::types::to_sql_checked!();
        }
    };
}

pub(crate) use row_id;
