//! Arguments as clients send them: a number may come as a string of digits
//! (command-line clients, and models, do), and a list as one string of
//! comma-separated items.

use serde::{Deserialize, Deserializer};

#[derive(Deserialize)]
#[serde(untagged)]
enum NumberOrText {
    Number(usize),
    Text(String),
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ListOrText {
    List(Vec<String>),
    Text(String),
}

/// A count, or a string of digits.
pub(crate) fn number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<usize>, D::Error> {
    match Option::<NumberOrText>::deserialize(deserializer)? {
        None => Ok(None),
        Some(NumberOrText::Number(n)) => Ok(Some(n)),
        Some(NumberOrText::Text(text)) => text
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| serde::de::Error::custom(format!("expected a whole number, not {text:?}"))),
    }
}

/// A list of strings, or one string of comma-separated items.
pub(crate) fn list<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Vec<String>>, D::Error> {
    Ok(match Option::<ListOrText>::deserialize(deserializer)? {
        None => None,
        Some(ListOrText::List(items)) => Some(items),
        Some(ListOrText::Text(text)) => {
            Some(text.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect())
        }
    })
}

#[cfg(test)]
mod tests {
    #[derive(serde::Deserialize)]
    struct Args {
        #[serde(default, deserialize_with = "super::number")]
        k: Option<usize>,
        #[serde(default, deserialize_with = "super::list")]
        focus: Option<Vec<String>>,
    }

    fn args(json: &str) -> Result<Args, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn numbers_and_lists_come_in_either_form() {
        let a = args(r#"{"k": 5, "focus": ["a", "b"]}"#).expect("json");
        assert_eq!((a.k, a.focus), (Some(5), Some(vec!["a".to_owned(), "b".to_owned()])));
        let b = args(r#"{"k": " 7", "focus": "a, b,"}"#).expect("json");
        assert_eq!((b.k, b.focus), (Some(7), Some(vec!["a".to_owned(), "b".to_owned()])));
        let c = args("{}").expect("json");
        assert_eq!((c.k, c.focus), (None, None));
        assert!(args(r#"{"k": "five"}"#).is_err());
        assert!(args(r#"{"k": -1}"#).is_err());
        assert!(args(r#"{"focus": 3}"#).is_err());
    }
}
