//! The files bucket (`ROTA_BUCKET`): photos, imports and exports. Clients never send file bytes
//! through the API: they get a presigned URL and talk to S3 directly, so a Lambda never holds an
//! upload in memory and API Gateway's payload limit never applies.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_s3::presigning::PresigningConfig;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::Error;
use crate::aws::LazyClient;

/// How long a presigned URL works.
pub const UPLOAD_URL_SECS: u64 = 15 * 60;

/// The largest photo accepted, in bytes (5 MiB).
pub const MAX_PHOTO_BYTES: u64 = 5 * 1024 * 1024;

/// The image types a photo (a profile's, a check-in's) may be.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
pub enum ImageType {
    #[serde(rename = "image/jpeg")]
    Jpeg,
    #[serde(rename = "image/png")]
    Png,
    #[serde(rename = "image/webp")]
    Webp,
}

impl ImageType {
    pub fn mime(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Webp => "image/webp",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Self::Jpeg => "jpg",
            Self::Png => "png",
            Self::Webp => "webp",
        }
    }
}

/// Minutes as decimal hours to two places, rounded half up (`90` → `1.50`, `20` → `0.33`): how
/// payroll files and reports write hours.
pub fn hours(minutes: i64) -> String {
    let sign = if minutes < 0 { "-" } else { "" };
    let hundredths = (minutes.unsigned_abs() * 100 * 2 + 60) / 120;
    format!("{sign}{}.{:02}", hundredths / 100, hundredths % 100)
}

/// A cell as a spreadsheet will read it safely (OWASP CSV injection). Text starting with `=`,
/// `+`, `-`, `@`, a tab or a carriage return would be taken for a formula, so it gets a leading
/// `'`. A spreadsheet may also split the cell where it finds its locale's separator (`;` where
/// `,` is the decimal comma, a tab, `|`) or a quote, even inside a quoted field, so a trigger
/// after one of those (spaces between included) gets its `'` too: `Bob;=cmd` becomes
/// `Bob;'=cmd`.
pub fn cell(text: &str) -> String {
    let trigger = |c: char| matches!(c, '=' | '+' | '-' | '@' | '\t' | '\r');
    let separator = |c: char| matches!(c, ',' | ';' | '\t' | '|' | '"' | '\'');
    let mut safe = String::with_capacity(text.len() + 1);
    let mut cell_starts = true;
    for c in text.chars() {
        if cell_starts && trigger(c) {
            safe.push('\'');
        }
        // A tab is both: it starts a cell and is a trigger at the start of one.
        cell_starts = separator(c) || (cell_starts && c == ' ');
        safe.push(c);
    }
    safe
}

#[derive(Clone)]
pub struct Files {
    client: LazyClient<aws_sdk_s3::Client>,
    bucket: String,
}

/// A presigned upload: PUT the file's bytes to `url` with exactly these headers before
/// `expires_at`. The signature covers the content type and length, so S3 refuses any other.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "url": "https://rota-files.s3.eu-west-1.amazonaws.com/tenants/01J…/people/01J…/photo.jpg?X-Amz-Algorithm=AWS4-HMAC-SHA256&…",
    "method": "PUT",
    "headers": { "content-type": "image/jpeg", "content-length": "48213" },
    "key": "tenants/01J…/people/01J…/photo.jpg",
    "expires_at": "2030-01-01T09:15:00Z"
}))]
pub struct Upload {
    pub url: String,
    /// Always `PUT`.
    pub method: &'static str,
    /// The headers the upload must send, as signed.
    pub headers: BTreeMap<String, String>,
    /// Where the file will be, in the bucket.
    pub key: String,
    pub expires_at: String,
}

/// A presigned download: GET `url` before `expires_at`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "url": "https://rota-files.s3.eu-west-1.amazonaws.com/tenants/01J…/exports/attendance-01J….csv?X-Amz-Algorithm=AWS4-HMAC-SHA256&…",
    "key": "tenants/01J…/exports/attendance-01J….csv",
    "expires_at": "2030-01-01T09:15:00Z"
}))]
pub struct Download {
    pub url: String,
    pub key: String,
    pub expires_at: String,
}

impl Files {
    pub fn new(client: LazyClient<aws_sdk_s3::Client>, bucket: String) -> Self {
        Self { client, bucket }
    }

    /// A presigned PUT of `content_length` bytes of `content_type` to `key`, valid
    /// [`UPLOAD_URL_SECS`] from `now` (RFC 3339). Signing happens here; S3 is not called.
    pub async fn upload(
        &self,
        key: String,
        content_type: &str,
        content_length: u64,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Upload, Error> {
        self.upload_tagged(key, content_type, content_length, None, now).await
    }

    /// As [`Files::upload`], with the object's tags (`name=value&…`) signed too: the bucket's
    /// lifecycle rules select objects by tag (imports expire after a day).
    pub async fn upload_tagged(
        &self,
        key: String,
        content_type: &str,
        content_length: u64,
        tagging: Option<&str>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Upload, Error> {
        let valid = Duration::from_secs(UPLOAD_URL_SECS);
        let presigning =
            PresigningConfig::builder().start_time(now.into()).expires_in(valid).build().map_err(Error::internal)?;
        let length = i64::try_from(content_length).map_err(Error::internal)?;
        let request = self
            .client
            .get()
            .put_object()
            .bucket(&self.bucket)
            .key(&key)
            .content_type(content_type)
            .content_length(length)
            .set_tagging(tagging.map(str::to_owned))
            .presigned(presigning)
            .await
            .map_err(|error| Error::internal(aws_sdk_s3::error::DisplayErrorContext(error).to_string()))?;
        let headers = request.headers().map(|(name, value)| (name.to_ascii_lowercase(), value.to_owned())).collect();
        Ok(Upload {
            url: request.uri().to_owned(),
            method: "PUT",
            headers,
            key,
            expires_at: crate::clock::iso(now + valid),
        })
    }

    /// A presigned GET of `key`, valid [`UPLOAD_URL_SECS`] from `now`. Signing happens here.
    pub async fn download(&self, key: String, now: chrono::DateTime<chrono::Utc>) -> Result<Download, Error> {
        let valid = Duration::from_secs(UPLOAD_URL_SECS);
        let presigning =
            PresigningConfig::builder().start_time(now.into()).expires_in(valid).build().map_err(Error::internal)?;
        let request = self
            .client
            .get()
            .get_object()
            .bucket(&self.bucket)
            .key(&key)
            .presigned(presigning)
            .await
            .map_err(|error| Error::internal(aws_sdk_s3::error::DisplayErrorContext(error).to_string()))?;
        Ok(Download { url: request.uri().to_owned(), key, expires_at: crate::clock::iso(now + valid) })
    }

    /// Writes `body` to `key` (a file the API makes: an export) and answers its presigned
    /// download, valid [`UPLOAD_URL_SECS`] from `now`.
    pub async fn publish(
        &self,
        key: String,
        content_type: &str,
        body: Vec<u8>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Download, Error> {
        self.write(&key, content_type, body).await?;
        self.download(key, now).await
    }

    /// Writes `body` to `key` (a file the API makes and reads back itself).
    pub async fn write(&self, key: &str, content_type: &str, body: Vec<u8>) -> Result<(), Error> {
        self.client
            .get()
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .body(body.into())
            .send()
            .await
            .map_err(|error| Error::internal(aws_sdk_s3::error::DisplayErrorContext(error).to_string()))?;
        Ok(())
    }

    /// The object at `key`, if there is one of at most `max_bytes` (a bigger one is an error: the
    /// upload's signature bounds its size, so it cannot happen through the API).
    pub async fn read(&self, key: &str, max_bytes: u64) -> Result<Option<Vec<u8>>, Error> {
        let object = match self.client.get().get_object().bucket(&self.bucket).key(key).send().await {
            Ok(object) => object,
            Err(error) if error.as_service_error().is_some_and(|e| e.is_no_such_key()) => return Ok(None),
            Err(error) => return Err(Error::internal(aws_sdk_s3::error::DisplayErrorContext(error).to_string())),
        };
        if object.content_length().is_some_and(|length| length < 0 || length as u64 > max_bytes) {
            return Err(Error::internal(format!("{key} is larger than {max_bytes} bytes")));
        }
        let body = object.body.collect().await.map_err(Error::internal)?;
        Ok(Some(body.into_bytes().to_vec()))
    }

    /// Whether an object is stored at `key` (a client's upload arrived). A listing of `key` as
    /// its prefix, not a `HeadObject`: a missing object's `HeadObject` is a 404 only for a role
    /// that may list the bucket, and a listing carries `s3:prefix`, so the role's `ListBucket`
    /// can be held to the prefixes it needs (template.yaml).
    pub async fn exists(&self, key: &str) -> Result<bool, Error> {
        let listing = self
            .client
            .get()
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(key)
            .max_keys(1)
            .send()
            .await
            .map_err(|error| Error::internal(aws_sdk_s3::error::DisplayErrorContext(error).to_string()))?;
        // Keys sort in byte order, so `key` itself comes before any longer key it prefixes.
        Ok(listing.contents().first().and_then(|object| object.key()) == Some(key))
    }
}

#[cfg(test)]
mod tests {
    use super::{cell, hours};

    #[test]
    fn hours_have_two_places_rounded_half_up() {
        assert_eq!([hours(0), hours(90), hours(20), hours(2_401), hours(1)], ["0.00", "1.50", "0.33", "40.02", "0.02"]);
        assert_eq!(hours(-90), "-1.50");
    }

    #[test]
    fn cells_a_spreadsheet_would_run_are_quoted() {
        for formula in ["=HYPERLINK(\"http://x\")", "+1", "-1+2", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(cell(formula), format!("'{formula}"));
        }
        assert_eq!(cell("Olive Ortiz"), "Olive Ortiz");
        assert_eq!(cell(""), "");
    }

    #[test]
    fn a_trigger_after_a_separator_is_quoted_too() {
        for (text, safe) in [
            ("Bob;=cmd|' /C calc'!A0", "Bob;'=cmd|' /C calc'!A0"),
            ("Bob; =1+1", "Bob; '=1+1"),
            ("a,-1", "a,'-1"),
            ("x|@SUM(A1)", "x|'@SUM(A1)"),
            ("x\"=1", "x\"'=1"),
            ("x\t=1", "x\t'=1"),
            ("=1;=2", "'=1;'=2"),
        ] {
            assert_eq!(cell(text), safe, "{text:?}");
        }
        for plain in ["Jean-Luc O'Neil", "Smith; Jones", "a+b=c", "B&Q @ Leeds", "-"] {
            let expected = if plain == "-" { "'-".to_owned() } else { plain.to_owned() };
            assert_eq!(cell(plain), expected, "{plain:?}");
        }
    }
}
