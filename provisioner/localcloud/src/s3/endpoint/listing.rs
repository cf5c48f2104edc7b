//! Listing pages of ListObjects, ListObjectsV2 and ListObjectVersions:
//! markers, continuation tokens, delimiters and common prefixes.

use super::*;

// ---- listing pages ----------------------------------------------------------------

/// Where a listing page resumes: after a key, or after a whole common
/// prefix (every key under it skipped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Marker {
    Key(String),
    Prefix(String),
}

impl Marker {
    pub(super) fn value(&self) -> &str {
        match self {
            Marker::Key(k) | Marker::Prefix(k) => k,
        }
    }

    pub(super) fn encode(&self) -> String {
        use base64::Engine as _;
        let text = match self {
            Marker::Key(k) => format!("k{k}"),
            Marker::Prefix(p) => format!("p{p}"),
        };
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
    }

    pub(super) fn decode(token: &str) -> Option<Marker> {
        use base64::Engine as _;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(token)
            .ok()?;
        let text = String::from_utf8(bytes).ok()?;
        match text.split_at_checked(1)? {
            ("k", k) => Some(Marker::Key(k.to_owned())),
            ("p", p) => Some(Marker::Prefix(p.to_owned())),
            _ => None,
        }
    }

    fn skips(&self, key: &str) -> bool {
        match self {
            Marker::Key(k) => key <= k.as_str(),
            Marker::Prefix(p) => key <= p.as_str() || key.starts_with(p.as_str()),
        }
    }
}

/// One page of ListObjects / ListObjectsV2, as S3 objects and prefixes.
pub(super) struct Listed {
    pub(super) contents: Vec<Object>,
    pub(super) common: Vec<CommonPrefix>,
    pub(super) next: Option<Marker>,
    pub(super) max_keys: usize,
}

pub(super) fn wants_url_encoding(encoding: Option<&EncodingType>) -> bool {
    encoding.is_some_and(|e| e.as_str() == EncodingType::URL)
}

impl LocalS3 {
    /// The listing both ListObjects versions share: the bucket's latest
    /// objects under `prefix`, grouped by `delimiter`, after `after`.
    pub(super) async fn list_page(
        &self,
        bucket: &str,
        prefix: &str,
        delimiter: Option<&str>,
        after: Option<Marker>,
        max_keys: Option<i32>,
        url: bool,
    ) -> S3Result<Listed> {
        let (store, b, p) = (self.store.clone(), bucket.to_owned(), prefix.to_owned());
        let objects = blocking(move || store.list_objects(&b, &p)).await?;
        let max_keys = max_keys.unwrap_or(1000).clamp(0, 1000) as usize;
        let page = paginate(
            objects.iter().map(|o| o.key.as_str()),
            prefix,
            delimiter,
            after.as_ref(),
            max_keys,
        );
        let by_key: HashMap<&str, &ObjectVersion> =
            objects.iter().map(|o| (o.key.as_str(), o)).collect();
        let contents = page
            .keys
            .iter()
            .filter_map(|k| by_key.get(k.as_str()))
            .map(|o| Object {
                key: Some(url_encoded(url, o.key.clone())),
                e_tag: Some(etag(o)),
                last_modified: Some(timestamp(o.last_modified_ms)),
                size: Some(o.size as i64),
                storage_class: Some(ObjectStorageClass::from_static(
                    ObjectStorageClass::STANDARD,
                )),
                ..Default::default()
            })
            .collect();
        let common = page
            .prefixes
            .iter()
            .map(|p| CommonPrefix {
                prefix: Some(url_encoded(url, p.clone())),
            })
            .collect();
        Ok(Listed {
            contents,
            common,
            next: page.next,
            max_keys,
        })
    }
}

#[derive(Debug, Default)]
pub(super) struct Page {
    keys: Vec<String>,
    prefixes: Vec<String>,
    /// Where the next page starts; `None` when this one is the last.
    next: Option<Marker>,
}

/// One page of a listing of `keys` (sorted), grouping by `delimiter` into
/// common prefixes, resuming after `after`, at most `max` entries.
pub(super) fn paginate<'a>(
    keys: impl Iterator<Item = &'a str>,
    prefix: &str,
    delimiter: Option<&str>,
    after: Option<&Marker>,
    max: usize,
) -> Page {
    let mut page = Page::default();
    let mut count = 0;
    let mut last: Option<Marker> = None;
    for key in keys {
        if !key.starts_with(prefix) || after.is_some_and(|m| m.skips(key)) {
            continue;
        }
        let group = delimiter.filter(|d| !d.is_empty()).and_then(|d| {
            key[prefix.len()..]
                .find(d)
                .map(|pos| key[..prefix.len() + pos + d.len()].to_owned())
        });
        if let Some(cp) = &group
            && page.prefixes.last() == Some(cp)
        {
            continue;
        }
        if count == max {
            page.next = last;
            return page;
        }
        count += 1;
        match group {
            Some(cp) => {
                last = Some(Marker::Prefix(cp.clone()));
                page.prefixes.push(cp);
            }
            None => {
                last = Some(Marker::Key(key.to_owned()));
                page.keys.push(key.to_owned());
            }
        }
    }
    page
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_group_and_resume() {
        let keys = ["a/1", "a/2", "b", "c/x/1", "d"];
        let p = paginate(keys.iter().copied(), "", Some("/"), None, 2);
        assert_eq!(p.prefixes, vec!["a/"]);
        assert_eq!(p.keys, vec!["b"]);
        let next = p.next.expect("truncated");
        let p2 = paginate(keys.iter().copied(), "", Some("/"), Some(&next), 2);
        assert_eq!(p2.prefixes, vec!["c/"]);
        assert_eq!(p2.keys, vec!["d"]);
        assert!(p2.next.is_none());
        let m = Marker::Prefix("a/".into());
        assert_eq!(Marker::decode(&m.encode()), Some(m));
        let all = paginate(keys.iter().copied(), "a/", None, None, 1000);
        assert_eq!(all.keys, vec!["a/1", "a/2"]);
    }
}
