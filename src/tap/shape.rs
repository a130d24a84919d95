//! An event's top-level fields and the kind of each value, read without
//! building the values: what the offline answers need to judge a request
//! as Amplitude does, at a cost that does not grow with a 15 MB property or
//! with half a million tiny events.

/// The kinds of the top-level fields Amplitude's answer depends on; every
/// other field is skipped unread (no name kept, no string measured).
#[derive(Default)]
pub struct Shape([Option<Kind>; FIELDS]);

/// The fields Amplitude judges an event by.
#[derive(Debug, Clone, Copy, serde::Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
pub enum Field {
    EventType,
    UserId,
    DeviceId,
    Time,
    SessionId,
    EventProperties,
    UserProperties,
    Groups,
    GroupProperties,
    #[serde(other)]
    Other,
}

const FIELDS: usize = Field::Other as usize;

impl Shape {
    /// The kind of `field`'s value (of its last spelling, as JSON readers take a repeated key).
    pub fn kind(&self, field: Field) -> Option<Kind> {
        self.0.get(field as usize).copied().flatten()
    }
}

impl<'de> serde::Deserialize<'de> for Shape {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Fields;
        impl<'de> serde::de::Visitor<'de> for Fields {
            type Value = Shape;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an event object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Shape, A::Error> {
                let mut shape = Shape::default();
                while let Some(field) = map.next_key::<Field>()? {
                    match shape.0.get_mut(field as usize) {
                        Some(slot) => *slot = Some(map.next_value::<Kind>()?),
                        None => {
                            map.next_value::<serde::de::IgnoredAny>()?;
                        }
                    }
                }
                Ok(shape)
            }
        }
        d.deserialize_map(Fields)
    }
}

#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Null,
    Bool,
    Integer,
    Float,
    /// `placeholder`: one of the ids Amplitude refuses ("null", the all-zero UUID…).
    Text {
        chars: usize,
        placeholder: bool,
    },
    Array,
    Object,
}

impl<'de> serde::Deserialize<'de> for Kind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Of;
        impl<'de> serde::de::Visitor<'de> for Of {
            type Value = Kind;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_unit<E>(self) -> Result<Kind, E> {
                Ok(Kind::Null)
            }
            fn visit_bool<E>(self, _: bool) -> Result<Kind, E> {
                Ok(Kind::Bool)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Kind, E> {
                Ok(Kind::Integer)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Kind, E> {
                Ok(Kind::Integer)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Kind, E> {
                Ok(Kind::Float)
            }
            fn visit_str<E>(self, text: &str) -> Result<Kind, E> {
                Ok(Kind::Text {
                    chars: text.chars().count(),
                    placeholder: text.len() <= 40 && crate::plan::is_placeholder_id(text),
                })
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Kind, A::Error> {
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(Kind::Array)
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Kind, A::Error> {
                while map
                    .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                    .is_some()
                {}
                Ok(Kind::Object)
            }
        }
        d.deserialize_any(Of)
    }
}
