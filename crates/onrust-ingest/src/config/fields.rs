//! The keys a typed config takes, as serde itself knows them: derived
//! `Deserialize` hands its field names to `deserialize_struct`, and this
//! deserializer only writes them down. So a list of keys can never drift
//! from the struct it describes.

use serde::Deserialize;
use serde::de::{self, Visitor};

/// The field names `T` (a struct deriving `Deserialize`) accepts; empty for anything else.
pub(crate) fn fields_of<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
    let mut seen: &'static [&'static str] = &[];
    // The capture always answers with an error once it has the names: nothing is built.
    let _ = T::deserialize(FieldNames { seen: &mut seen });
    seen
}

struct FieldNames<'a> {
    seen: &'a mut &'static [&'static str],
}

impl<'de> de::Deserializer<'de> for FieldNames<'_> {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("only a struct's field names are read"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Self::Error> {
        *self.seen = fields;
        Err(de::Error::custom("field names read"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map enum identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(dead_code)]
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Example {
        url: String,
        #[serde(default)]
        tags: Vec<String>,
    }

    #[test]
    fn the_names_are_the_structs_own() {
        assert_eq!(fields_of::<Example>(), ["url", "tags"]);
        assert!(fields_of::<String>().is_empty(), "not a struct: no fields");
    }
}
