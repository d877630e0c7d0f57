//! SCIM 2.0 users (RFC 7643 §4.1) as Rota's people, pure: the resource Rota answers, the bodies a
//! provider sends read the way Okta and Entra ID send them (Entra's `"op": "Replace"` and its
//! booleans as `"False"`; Okta's path-less `{"op": "replace", "value": {"active": false}}`), the
//! one filter providers use (`userName eq "…"`), and a patch applied to a person's profile.
//!
//! Attributes Rota does not keep (titles, addresses, the enterprise extension, groups, a
//! password) are accepted and ignored, as providers send whatever their mapping holds.

use garde::Validate;
use rota::Error;
use rota::store::people::{Person, PersonStatus};
use rota::store::scim::ScimLink;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

/// A SCIM User as Rota answers it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScimUser {
    #[schema(example = json!([USER_SCHEMA]))]
    pub schemas: Vec<String>,
    /// The person's id in Rota.
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    pub user_name: String,
    pub name: ScimName,
    pub display_name: String,
    /// False once deactivated: signed out everywhere, no sign-in.
    pub active: bool,
    pub emails: Vec<ScimValue>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub phone_numbers: Vec<ScimValue>,
    pub meta: ScimMeta,
}

#[derive(Debug, Serialize, Deserialize, ToSchema, Validate)]
#[serde(rename_all = "camelCase")]
pub struct ScimName {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[garde(length(chars, max = 100))]
    #[schema(max_length = 100)]
    pub formatted: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[garde(length(chars, max = 100))]
    #[schema(max_length = 100)]
    pub given_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[garde(length(chars, max = 100))]
    #[schema(max_length = 100)]
    pub family_name: Option<String>,
}

/// One value of a multi-valued attribute (an email, a phone number).
#[derive(Debug, Serialize, Deserialize, ToSchema, Validate)]
pub struct ScimValue {
    #[garde(length(chars, max = 254))]
    #[schema(max_length = 254)]
    pub value: String,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    #[garde(length(chars, max = 32))]
    #[schema(max_length = 32)]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "lenient_bool")]
    #[garde(skip)]
    #[schema(value_type = Option<bool>)]
    pub primary: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScimMeta {
    #[schema(example = "User")]
    pub resource_type: &'static str,
    pub created: String,
    pub last_modified: String,
    /// The user's URL, relative to the API.
    pub location: String,
    /// The person's `version`, as a weak entity tag.
    pub version: String,
}

impl ScimUser {
    pub fn of(person: &Person) -> Self {
        let link = person.scim.as_ref();
        let emails = vec![ScimValue { value: person.email.clone(), kind: Some("work".into()), primary: Some(true) }];
        let phone_numbers = person
            .phone
            .iter()
            .map(|phone| ScimValue { value: phone.clone(), kind: Some("mobile".into()), primary: Some(true) })
            .collect();
        Self {
            schemas: vec![USER_SCHEMA.to_owned()],
            id: person.id.clone(),
            external_id: link.and_then(|link| link.external_id.clone()),
            user_name: link.map_or_else(|| person.email.clone(), |link| link.user_name.clone()),
            name: ScimName {
                formatted: Some(person.name.clone()),
                given_name: link.and_then(|link| link.given_name.clone()),
                family_name: link.and_then(|link| link.family_name.clone()),
            },
            display_name: person.name.clone(),
            active: person.status != PersonStatus::Inactive,
            emails,
            phone_numbers,
            meta: ScimMeta {
                resource_type: "User",
                created: person.created_at.clone(),
                last_modified: person.updated_at.clone(),
                location: format!("/scim/v2/Users/{}", person.id),
                version: format!("W/\"{}\"", person.version),
            },
        }
    }
}

/// A user as a provider creates (`POST`) or replaces (`PUT`) it.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({
    "schemas": [USER_SCHEMA], "userName": "sam@harbour.example", "externalId": "00ujl29u0le5T6Aj10h7",
    "name": { "givenName": "Sam", "familyName": "Staff" },
    "emails": [{ "value": "sam@harbour.example", "type": "work", "primary": true }], "active": true }))]
pub struct UserRequest {
    /// The directory's unique name for the person; their email address unless `emails` gives one.
    #[garde(length(chars, min = 1, max = 254), custom(rota::validate::not_blank))]
    #[schema(min_length = 1, max_length = 254, pattern = r"[^\s\x00-\x1f\x7f-\x9f]")]
    pub user_name: String,
    #[garde(length(chars, min = 1, max = 256))]
    #[schema(min_length = 1, max_length = 256)]
    pub external_id: Option<String>,
    #[serde(default, deserialize_with = "object")]
    #[garde(dive)]
    pub name: Option<ScimName>,
    #[garde(length(chars, max = 100))]
    #[schema(max_length = 100)]
    pub display_name: Option<String>,
    /// The person's address: the primary one (else the work one, else the first).
    #[serde(default, deserialize_with = "objects")]
    #[garde(length(max = 10), dive)]
    #[schema(max_items = 10)]
    pub emails: Vec<ScimValue>,
    /// Kept when it is a valid number in international form (`+44 7911 123456`); ignored otherwise.
    #[serde(default, deserialize_with = "objects")]
    #[garde(length(max = 10), dive)]
    #[schema(max_items = 10)]
    pub phone_numbers: Vec<ScimValue>,
    /// True when absent.
    #[serde(default, deserialize_with = "lenient_bool")]
    #[garde(skip)]
    #[schema(value_type = Option<bool>)]
    pub active: Option<bool>,
}

/// A `PATCH` (RFC 7644 §3.5.2).
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[schema(example = json!({
    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
    "Operations": [{ "op": "replace", "path": "active", "value": false }] }))]
pub struct PatchRequest {
    #[serde(rename = "Operations", deserialize_with = "objects")]
    #[garde(length(min = 1, max = 50), dive)]
    #[schema(min_items = 1, max_items = 50)]
    pub operations: Vec<PatchOperation>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
pub struct PatchOperation {
    /// `add`, `replace` or `remove`, any case.
    #[garde(pattern(r"^([Aa][Dd][Dd]|[Rr][Ee][Pp][Ll][Aa][Cc][Ee]|[Rr][Ee][Mm][Oo][Vv][Ee])$"))]
    #[schema(pattern = r"^([Aa][Dd][Dd]|[Rr][Ee][Pp][Ll][Aa][Cc][Ee]|[Rr][Ee][Mm][Oo][Vv][Ee])$")]
    pub op: String,
    /// The attribute (`active`, `name.givenName`, `emails[type eq "work"].value`); without one,
    /// `value` is an object of attributes.
    #[garde(length(chars, min = 1, max = 200), custom(rota::validate::not_blank))]
    #[schema(min_length = 1, max_length = 200, pattern = r"[^\s\x00-\x1f\x7f-\x9f]")]
    pub path: Option<String>,
    /// Any JSON value: what the attribute takes, or an object of attributes.
    #[garde(skip)]
    #[schema(value_type = Option<serde_json::Value>)]
    pub value: Option<Value>,
}

/// What SCIM can say about a person, in Rota's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub link: ScimLink,
    pub name: String,
    pub email: String,
    /// Stored form (E.164), only when the provider sent a valid number.
    pub phone: Option<String>,
    pub active: bool,
}

impl Profile {
    pub fn of(person: &Person) -> Self {
        Self {
            link: person.scim.clone().unwrap_or_else(|| ScimLink {
                user_name: person.email.clone(),
                external_id: None,
                given_name: None,
                family_name: None,
            }),
            name: person.name.clone(),
            email: person.email.clone(),
            phone: person.phone.clone(),
            active: person.status != PersonStatus::Inactive,
        }
    }

    /// The profile a whole user gives.
    pub fn from_request(request: UserRequest) -> Result<Self, Error> {
        let user_name = request.user_name.trim().to_owned();
        let email = chosen(&request.emails).or_else(|| is_address(&user_name).then(|| user_name.clone()));
        let email =
            email.ok_or_else(|| Error::field("emails", "an email address is needed: in emails, or as the userName"))?;
        let email = address(&email, "emails")?;
        let name = request.name.unwrap_or(ScimName { formatted: None, given_name: None, family_name: None });
        let (given_name, family_name) = (trimmed(name.given_name), trimmed(name.family_name));
        let full_name = trimmed(request.display_name)
            .or(trimmed(name.formatted))
            .or_else(|| joined(&given_name, &family_name))
            .unwrap_or_else(|| email.split('@').next().unwrap_or_default().to_owned());
        Self {
            link: ScimLink { user_name, external_id: trimmed(request.external_id), given_name, family_name },
            name: full_name,
            email,
            phone: chosen(&request.phone_numbers).and_then(|phone| phone_of(&phone)),
            active: request.active.unwrap_or(true),
        }
        .checked()
    }

    /// The profile, if every text fits what Rota keeps (a patch's values are checked only here).
    fn checked(self) -> Result<Self, Error> {
        let link = &self.link;
        let texts = [
            ("userName", Some(&link.user_name), 254),
            ("externalId", link.external_id.as_ref(), 256),
            ("name.givenName", link.given_name.as_ref(), 100),
            ("name.familyName", link.family_name.as_ref(), 100),
            ("displayName", Some(&self.name), 100),
        ];
        for (field, text, max) in texts {
            if text.is_some_and(|text| text.chars().count() > max) {
                return Err(Error::field(field, &format!("at most {max} characters")));
            }
        }
        Ok(self)
    }

    /// The profile after `operations`, applied in order.
    pub fn patched(mut self, operations: &[PatchOperation]) -> Result<Self, Error> {
        let mut names = NameChange::default();
        for operation in operations {
            let remove = operation.op.eq_ignore_ascii_case("remove");
            match (&operation.path, &operation.value) {
                (Some(path), value) => self.set(path, value.as_ref(), remove, &mut names)?,
                (None, Some(Value::Object(attributes))) if !remove => {
                    for (path, value) in attributes {
                        self.set(path, Some(value), false, &mut names)?;
                    }
                }
                (None, _) => {
                    return Err(Error::field(
                        "Operations.value",
                        "without a path, the value is an object of attributes",
                    ));
                }
            }
        }
        if names.parts
            && !names.full
            && let Some(full) = joined(&self.link.given_name, &self.link.family_name)
        {
            self.name = full;
        }
        self.checked()
    }

    /// One attribute set (or removed, `value` ignored).
    fn set(&mut self, path: &str, value: Option<&Value>, remove: bool, names: &mut NameChange) -> Result<(), Error> {
        let path = path.trim();
        let path = path.strip_prefix(USER_SCHEMA).map_or(path, |rest| rest.trim_start_matches(':'));
        let lower = path.to_ascii_lowercase();
        let text = || value.and_then(Value::as_str).map(str::trim).filter(|text| !text.is_empty()).map(str::to_owned);
        let required = |field: &str| text().ok_or_else(|| Error::field(field, "a non-empty string is needed"));
        match lower.as_str() {
            // Removing either is meaningless: ignored, like what Rota does not keep.
            "active" if !remove => {
                self.active = flag(value).ok_or_else(|| Error::field("active", "true or false"))?;
            }
            "username" => self.link.user_name = required("userName")?,
            "externalid" => self.link.external_id = if remove { None } else { text() },
            "displayname" | "name.formatted" if !remove => {
                self.name = required("displayName")?;
                names.full = true;
            }
            "name.givenname" => (self.link.given_name, names.parts) = (if remove { None } else { text() }, true),
            "name.familyname" => (self.link.family_name, names.parts) = (if remove { None } else { text() }, true),
            "name" => {
                let name: ScimName = value
                    .cloned()
                    .map(serde_json::from_value)
                    .transpose()
                    .map_err(|_| Error::field("name", "an object of formatted, givenName and familyName"))?
                    .unwrap_or(ScimName { formatted: None, given_name: None, family_name: None });
                (self.link.given_name, self.link.family_name) = (trimmed(name.given_name), trimmed(name.family_name));
                names.parts = true;
                if let Some(formatted) = trimmed(name.formatted) {
                    (self.name, names.full) = (formatted, true);
                }
            }
            _ if lower == "emails" || lower.starts_with("emails[") => {
                let email = if lower == "emails" { values(value).and_then(|all| chosen(&all)) } else { text() };
                match email {
                    Some(email) if !remove => self.email = address(&email, "emails")?,
                    _ => {
                        return Err(Error::field(
                            "emails",
                            "a person's address is how they sign in: it cannot be removed",
                        ));
                    }
                }
            }
            _ if lower == "phonenumbers" || lower.starts_with("phonenumbers[") => {
                let phone = if lower == "phonenumbers" { values(value).and_then(|all| chosen(&all)) } else { text() };
                self.phone = if remove { None } else { phone.and_then(|phone| phone_of(&phone)).or(self.phone.take()) };
            }
            // What Rota does not keep.
            _ => {}
        }
        Ok(())
    }
}

/// Which names a patch touched: given or family name alone re-make the full name.
#[derive(Default)]
struct NameChange {
    full: bool,
    parts: bool,
}

/// The filter providers send to find someone before creating them: `userName eq "…"`.
pub fn user_name_filter(filter: &str) -> Result<String, Error> {
    const REFUSED: &str = r#"only userName eq "…" is supported"#;
    let filter = filter.trim();
    let (attribute, rest) = filter.split_once(char::is_whitespace).ok_or(Error::field("filter", REFUSED))?;
    let (operator, value) = rest.trim_start().split_once(char::is_whitespace).ok_or(Error::field("filter", REFUSED))?;
    if !attribute.eq_ignore_ascii_case("userName") || !operator.eq_ignore_ascii_case("eq") {
        return Err(Error::field("filter", REFUSED));
    }
    match serde_json::from_str::<Value>(value.trim()) {
        Ok(Value::String(user_name)) if !user_name.trim().is_empty() => Ok(user_name.trim().to_owned()),
        _ => Err(Error::field("filter", "the userName compared with is a quoted string")),
    }
}

/// A boolean as providers send it: `false`, or Entra's `"False"`.
fn flag(value: Option<&Value>) -> Option<bool> {
    match value? {
        Value::Bool(flag) => Some(*flag),
        Value::String(text) if text.eq_ignore_ascii_case("true") => Some(true),
        Value::String(text) if text.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

fn lenient_bool<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<bool>, D::Error> {
    let value = Option::<Value>::deserialize(deserializer)?;
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(value) => flag(Some(&value)).map(Some).ok_or_else(|| serde::de::Error::custom("expected true or false")),
    }
}

/// A struct only from a JSON object: serde alone would also take an array's items as its fields.
fn object<'de, D: Deserializer<'de>, T: DeserializeOwned>(deserializer: D) -> Result<Option<T>, D::Error> {
    match Option::<Value>::deserialize(deserializer)? {
        None | Some(Value::Null) => Ok(None),
        Some(value @ Value::Object(_)) => serde_json::from_value(value).map(Some).map_err(serde::de::Error::custom),
        Some(_) => Err(serde::de::Error::custom("expected an object")),
    }
}

/// A list of structs, each only from a JSON object (see [`object`]).
fn objects<'de, D: Deserializer<'de>, T: DeserializeOwned>(deserializer: D) -> Result<Vec<T>, D::Error> {
    let items = Vec::<Value>::deserialize(deserializer)?;
    items
        .into_iter()
        .map(|item| match item {
            Value::Object(_) => serde_json::from_value(item).map_err(serde::de::Error::custom),
            _ => Err(serde::de::Error::custom("expected a list of objects")),
        })
        .collect()
}

fn values(value: Option<&Value>) -> Option<Vec<ScimValue>> {
    serde_json::from_value(value?.clone()).ok()
}

/// The value to use of a multi-valued attribute: the primary one, else the work one, else the first.
fn chosen(values: &[ScimValue]) -> Option<String> {
    let work = |value: &&ScimValue| value.kind.as_deref().is_some_and(|kind| kind.eq_ignore_ascii_case("work"));
    values
        .iter()
        .find(|value| value.primary == Some(true))
        .or_else(|| values.iter().find(work))
        .or_else(|| values.first())
        .map(|value| value.value.trim().to_owned())
        .filter(|value| !value.is_empty())
}

fn is_address(text: &str) -> bool {
    use garde::rules::email::Email;
    text.validate_email().is_ok()
}

fn address(text: &str, field: &str) -> Result<String, Error> {
    if is_address(text) { Ok(text.trim().to_lowercase()) } else { Err(Error::field(field, "not an email address")) }
}

fn phone_of(text: &str) -> Option<String> {
    rota::phone::parse(text)
}

fn trimmed(value: Option<String>) -> Option<String> {
    value.map(|text| text.trim().to_owned()).filter(|text| !text.is_empty())
}

/// "Given Family", cut to the 100 characters a name has (each part may have 100).
fn joined(given: &Option<String>, family: &Option<String>) -> Option<String> {
    let full = [given, family].into_iter().flatten().map(String::as_str).collect::<Vec<_>>().join(" ");
    let full: String = full.chars().take(100).collect();
    (!full.is_empty()).then(|| full.trim_end().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request(body: Value) -> UserRequest {
        let request: UserRequest = serde_json::from_value(body).unwrap();
        request.validate().unwrap();
        request
    }

    fn operations(body: Value) -> Vec<PatchOperation> {
        let patch: PatchRequest = serde_json::from_value(body).unwrap();
        patch.validate().unwrap();
        patch.operations
    }

    /// Okta's documented create (its SCIM 2.0 guide), password and groups included.
    #[test]
    fn okta_create_gives_the_address_names_and_directory_id() {
        let profile = Profile::from_request(request(json!({
            "schemas": [USER_SCHEMA], "userName": "test.user@okta.local",
            "name": { "givenName": "Test", "familyName": "User" },
            "emails": [{ "primary": true, "value": "test.user@okta.local", "type": "work" }],
            "displayName": "Test User", "locale": "en-US", "externalId": "00ujl29u0le5T6Aj10h7",
            "groups": [], "password": "1mz050nq", "active": true
        })))
        .unwrap();
        assert_eq!(
            (profile.email.as_str(), profile.name.as_str(), profile.active),
            ("test.user@okta.local", "Test User", true)
        );
        assert_eq!(profile.link.external_id.as_deref(), Some("00ujl29u0le5T6Aj10h7"));
        assert_eq!(
            (profile.link.given_name.as_deref(), profile.link.family_name.as_deref()),
            (Some("Test"), Some("User"))
        );
    }

    /// Entra's documented create: a userName that is no address, the address in `emails`.
    #[test]
    fn entra_create_takes_the_address_from_emails() {
        let profile = Profile::from_request(request(json!({
            "schemas": [USER_SCHEMA, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
            "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
            "userName": "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1", "active": "True",
            "emails": [{ "primary": true, "type": "work", "value": "Test_User_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com" }],
            "meta": { "resourceType": "User" },
            "name": { "formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName" },
            "roles": []
        })))
        .unwrap();
        assert_eq!(profile.email, "test_user_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com");
        assert_eq!((profile.name.as_str(), profile.active), ("givenName familyName", true));
        assert_eq!(profile.link.user_name, "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1");
    }

    #[test]
    fn a_user_without_any_address_is_refused_naming_emails() {
        let error = Profile::from_request(request(json!({ "userName": "not-an-address" }))).unwrap_err();
        assert!(matches!(&error, Error::Validation(errors) if errors[0].field == "emails"), "{error:?}");
        let phone = request(json!({ "userName": "a@b.example", "phoneNumbers": [{ "value": "555-0100" }] }));
        assert_eq!(Profile::from_request(phone).unwrap().phone, None, "a number that is not international is left out");
    }

    fn sam() -> Profile {
        Profile::from_request(request(json!({
            "userName": "sam@harbour.example", "name": { "givenName": "Sam", "familyName": "Staff" }
        })))
        .unwrap()
    }

    #[test]
    fn okta_deactivates_with_a_value_object_and_entra_with_a_path_and_a_string() {
        let okta = operations(json!({ "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{ "op": "replace", "value": { "active": false } }] }));
        assert!(!sam().patched(&okta).unwrap().active);
        let entra = operations(json!({ "Operations": [{ "op": "Replace", "path": "active", "value": "False" }] }));
        assert!(!sam().patched(&entra).unwrap().active);
        let back = operations(json!({ "Operations": [{ "op": "Replace", "path": "active", "value": true }] }));
        assert!(sam().patched(&entra).unwrap().patched(&back).unwrap().active);
    }

    /// Entra's documented multi-attribute update, less the address (which cannot change).
    #[test]
    fn entra_renames_by_parts_and_the_full_name_follows() {
        let patch = operations(json!({ "Operations": [
            { "op": "Replace", "path": "name.familyName", "value": "updatedFamilyName" },
            { "op": "Add", "path": "externalId", "value": "0a21f0f2" },
            { "op": "Add", "path": "title", "value": "ignored" },
            { "op": "Replace", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+44 7911 123456" },
        ] }));
        let after = sam().patched(&patch).unwrap();
        assert_eq!(after.name, "Sam updatedFamilyName");
        assert_eq!(
            (after.link.external_id.as_deref(), after.phone.as_deref()),
            (Some("0a21f0f2"), Some("+447911123456"))
        );
        let display = operations(json!({ "Operations": [
            { "op": "replace", "path": "name.givenName", "value": "Samuel" },
            { "op": "replace", "path": "displayName", "value": "Sam S." },
        ] }));
        assert_eq!(sam().patched(&display).unwrap().name, "Sam S.", "a display name given wins over the parts");
    }

    #[test]
    fn a_changed_or_removed_address_is_seen_and_a_bad_patch_named() {
        let change = operations(json!({ "Operations": [
            { "op": "Replace", "path": "emails[type eq \"work\"].value", "value": "Sam.New@Harbour.example" } ] }));
        assert_eq!(sam().patched(&change).unwrap().email, "sam.new@harbour.example");
        let remove = operations(json!({ "Operations": [{ "op": "remove", "path": "emails" }] }));
        assert!(matches!(sam().patched(&remove), Err(Error::Validation(errors)) if errors[0].field == "emails"));
        let active = operations(json!({ "Operations": [{ "op": "replace", "path": "active", "value": "maybe" }] }));
        assert!(matches!(sam().patched(&active), Err(Error::Validation(errors)) if errors[0].field == "active"));
        let bare = operations(json!({ "Operations": [{ "op": "replace", "value": false }] }));
        assert!(sam().patched(&bare).is_err());
    }

    #[test]
    fn structs_come_only_from_objects() {
        for body in [
            json!({ "userName": "a@b.example", "name": [null, null] }),
            json!({ "userName": "a@b.example", "emails": [["a@b.example"]] }),
        ] {
            assert!(serde_json::from_value::<UserRequest>(body.clone()).is_err(), "{body}");
        }
        let positional = json!({ "Operations": [["replace", "active", false]] });
        assert!(serde_json::from_value::<PatchRequest>(positional).is_err());
        let unknown = operations(json!({ "Operations": [{ "op": "add", "path": "nickName", "value": [1, 2] }] }));
        assert_eq!(sam().patched(&unknown).unwrap(), sam(), "an attribute Rota does not keep, of any type");
    }

    #[test]
    fn names_fit_what_rota_keeps() {
        let long = "x".repeat(100);
        let parts = request(json!({ "userName": "a@b.example", "name": { "givenName": long, "familyName": long } }));
        let profile = Profile::from_request(parts).unwrap();
        assert_eq!(profile.name.chars().count(), 100, "two long parts make a name cut to 100");
        let patch =
            operations(json!({ "Operations": [{ "op": "replace", "path": "displayName", "value": "y".repeat(101) }] }));
        assert!(matches!(sam().patched(&patch), Err(Error::Validation(errors)) if errors[0].field == "displayName"));
        let patch = operations(
            json!({ "Operations": [{ "op": "ADD", "path": "name", "value": { "givenName": "z".repeat(101) } }] }),
        );
        assert!(matches!(sam().patched(&patch), Err(Error::Validation(errors)) if errors[0].field == "name.givenName"));
    }

    #[test]
    fn only_user_name_equality_filters() {
        assert_eq!(user_name_filter(r#"userName eq "sam@harbour.example""#).unwrap(), "sam@harbour.example");
        assert_eq!(user_name_filter(r#"USERNAME  EQ "a \"q\"""#).unwrap(), r#"a "q""#);
        for refused in [r#"userName sw "s""#, r#"emails eq "x""#, "userName eq sam", "userName", r#"userName eq """#] {
            let error = user_name_filter(refused).unwrap_err();
            assert!(matches!(&error, Error::Validation(errors) if errors[0].field == "filter"), "{refused}: {error:?}");
        }
    }

    #[test]
    fn a_user_is_answered_with_its_directory_names() {
        let mut person = Person::invited(
            "p1".into(),
            "t1".into(),
            "sam@harbour.example".into(),
            "Sam Staff".into(),
            rota::auth::Role::Staff,
            "2026-12-06T10:00:00Z",
        );
        person.scim = Some(sam().link);
        let user = serde_json::to_value(ScimUser::of(&person)).unwrap();
        assert_eq!(user["userName"], "sam@harbour.example");
        assert_eq!(user["name"], json!({ "formatted": "Sam Staff", "givenName": "Sam", "familyName": "Staff" }));
        assert_eq!((user["active"].as_bool(), user["meta"]["version"].as_str()), (Some(true), Some("W/\"1\"")));
        assert_eq!(user["emails"], json!([{ "value": "sam@harbour.example", "type": "work", "primary": true }]));
        assert!(user.get("phoneNumbers").is_none() && user.get("externalId").is_none());
    }
}
