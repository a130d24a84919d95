//! An event's top-level fields and the kind of each value, read without
//! building the values: what the offline answers need to judge a request
//! as Amplitude does, at a cost that does not grow with a 15 MB property or
//! with half a million tiny events.

/// The kinds of the top-level fields Amplitude's answer depends on; every
/// other field is skipped unread (no name kept, no string measured).
#[derive(Default)]
pub struct Shape([Option<Kind>; FIELDS]);

/// The fields Amplitude judges an event by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
    /// Any other key: skipped.
    Other,
}

const FIELDS: usize = Field::Other as usize;

impl Field {
    /// Every field Amplitude judges, in the order above.
    pub const JUDGED: [Field; FIELDS] = [
        Field::EventType,
        Field::UserId,
        Field::DeviceId,
        Field::Time,
        Field::SessionId,
        Field::EventProperties,
        Field::UserProperties,
        Field::Groups,
        Field::GroupProperties,
    ];

    /// Its name in an event, as Amplitude's answers name it.
    pub fn name(self) -> &'static str {
        match self {
            Field::EventType => "event_type",
            Field::UserId => "user_id",
            Field::DeviceId => "device_id",
            Field::Time => "time",
            Field::SessionId => "session_id",
            Field::EventProperties => "event_properties",
            Field::UserProperties => "user_properties",
            Field::Groups => "groups",
            Field::GroupProperties => "group_properties",
            Field::Other => "",
        }
    }
}

impl Shape {
    /// The kind of `field`'s value (of its last spelling, as JSON readers take a repeated key).
    pub fn kind(&self, field: Field) -> Option<Kind> {
        self.0.get(field as usize).copied().flatten()
    }
}

/// A key read as the field it names (escapes already decoded by the parser).
impl<'de> serde::Deserialize<'de> for Field {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Name;
        impl serde::de::Visitor<'_> for Name {
            type Value = Field;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E>(self, key: &str) -> Result<Field, E> {
                let judged = Field::JUDGED.into_iter().find(|f| f.name() == key);
                Ok(judged.unwrap_or(Field::Other))
            }
        }
        d.deserialize_identifier(Name)
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
