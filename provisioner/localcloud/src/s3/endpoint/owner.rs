//! Requests signed with a key the endpoint does not know act as the account
//! owner: the signature is stripped (s3s can only verify one with the
//! secret in hand) and an `aws-chunked` body decoded here.

use super::*;

// ---- unknown keys: act as the owner -------------------------------------------

/// The access key a request is signed with (SigV4 header or query, SigV2).
pub(super) fn signing_key(req: &http::Request<s3s::Body>) -> Option<String> {
    if let Some(auth) = req
        .headers()
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        if let Some(rest) = auth.split("Credential=").nth(1) {
            return rest.split('/').next().map(str::to_owned);
        }
        if let Some(rest) = auth.strip_prefix("AWS ") {
            return rest.split(':').next().map(str::to_owned);
        }
        return Some(String::new());
    }
    let query = req.uri().query()?;
    for pair in query.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if k == "X-Amz-Credential" {
            let v = v.replace("%2F", "/").replace("%2f", "/");
            return v.split('/').next().map(str::to_owned);
        }
        if k == "AWSAccessKeyId" {
            return Some(v.to_owned());
        }
    }
    None
}

/// Query parameters of presigned URLs (SigV4 and SigV2).
pub(super) const PRESIGN_PARAMS: [&str; 10] = [
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "X-Amz-Signature",
    "X-Amz-Security-Token",
    "AWSAccessKeyId",
    "Signature",
    "Expires",
];

/// Turns a request signed with an unknown key into an anonymous one (the
/// owner): signature removed, an `aws-chunked` body decoded.
pub(super) async fn as_owner(
    req: http::Request<s3s::Body>,
) -> Result<http::Request<s3s::Body>, String> {
    let (mut parts, body) = req.into_parts();
    parts.headers.remove(http::header::AUTHORIZATION);
    if let Some(query) = parts.uri.query() {
        let kept: Vec<&str> = query
            .split('&')
            .filter(|p| {
                let k = p.split('=').next().unwrap_or_default();
                !PRESIGN_PARAMS.contains(&k)
            })
            .collect();
        let path = parts.uri.path();
        let pq = if kept.is_empty() {
            path.to_owned()
        } else {
            format!("{path}?{}", kept.join("&"))
        };
        let mut uri = http::uri::Builder::new();
        if let Some(s) = parts.uri.scheme() {
            uri = uri.scheme(s.clone());
        }
        if let Some(a) = parts.uri.authority() {
            uri = uri.authority(a.clone());
        }
        parts.uri = uri
            .path_and_query(pq)
            .build()
            .map_err(|e| format!("rewriting the request URI: {e}"))?;
    }
    let sha = parts
        .headers
        .remove("x-amz-content-sha256")
        .and_then(|v| v.to_str().ok().map(str::to_owned))
        .unwrap_or_default();
    let chunked = sha.starts_with("STREAMING-")
        || parts
            .headers
            .get(http::header::CONTENT_ENCODING)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(',').any(|e| e.trim() == "aws-chunked"));
    if !chunked {
        return Ok(http::Request::from_parts(parts, body));
    }
    let raw = body
        .collect()
        .await
        .map_err(|e| format!("reading the request body: {e}"))?
        .to_bytes();
    let decoded = decode_aws_chunked(&raw)?;
    for h in ["x-amz-decoded-content-length", "x-amz-trailer"] {
        parts.headers.remove(h);
    }
    let encodings: Vec<String> = parts
        .headers
        .get(http::header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|e| !e.is_empty() && *e != "aws-chunked")
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    parts.headers.remove(http::header::CONTENT_ENCODING);
    if !encodings.is_empty()
        && let Ok(v) = HeaderValue::from_str(&encodings.join(","))
    {
        parts.headers.insert(http::header::CONTENT_ENCODING, v);
    }
    parts.headers.insert(
        http::header::CONTENT_LENGTH,
        HeaderValue::from(decoded.len()),
    );
    Ok(http::Request::from_parts(parts, s3s::Body::from(decoded)))
}

/// Decodes an `aws-chunked` body (`<hex size>[;ext]\r\n<data>\r\n` ... a
/// zero-size chunk, then optional trailers), without checking chunk
/// signatures.
pub fn decode_aws_chunked(raw: &[u8]) -> Result<Bytes, String> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    loop {
        let line_end = raw[i..]
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("aws-chunked body: a chunk header without CRLF")?;
        let header = std::str::from_utf8(&raw[i..i + line_end])
            .map_err(|_| "aws-chunked body: a chunk header is not text")?;
        let size_hex = header.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_hex, 16)
            .map_err(|_| format!("aws-chunked body: bad chunk size {size_hex:?}"))?;
        i += line_end + 2;
        if size == 0 {
            return Ok(Bytes::from(out));
        }
        let end = i
            .checked_add(size)
            .filter(|e| *e <= raw.len())
            .ok_or("aws-chunked body: a chunk runs past the end")?;
        out.extend_from_slice(&raw[i..end]);
        i = end;
        if raw.get(i..i + 2) == Some(b"\r\n") {
            i += 2;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_aws_chunked_bodies() {
        let raw = b"5;chunk-signature=abc\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:AAAA\r\n\r\n";
        assert_eq!(
            decode_aws_chunked(raw).expect("decodes"),
            Bytes::from_static(b"hello world")
        );
        assert!(decode_aws_chunked(b"zz\r\n").is_err());
        assert!(decode_aws_chunked(b"10\r\nshort\r\n").is_err());
    }
}
