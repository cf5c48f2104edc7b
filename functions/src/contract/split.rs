//! Records of a raw file, split in place where that is safe.
//!
//! A line with no `"` and no CR is split on its commas: for such a line
//! RFC 4180 (and the `csv` crate) can only mean that, and most lines are
//! like it (81 % of the generator's: product names with commas are
//! quoted). Every other record goes through `csv_core`, the `csv` crate's
//! own parser, with the same settings. Either way the fields are the ones
//! `csv::Reader` gives and a record ends where it ends; the property test
//! below holds the two to that on files full of quotes, CRs and blank
//! lines. In promote's profile the CSV parse was the largest item, about
//! 14 instructions a byte; the split path is a few.

use std::ops::Range;

/// Reads records one at a time from any record boundary of one input.
pub(crate) struct Records {
    core: csv_core::Reader,
    /// Field bytes of a record parsed by `csv_core`, and where each ends.
    out: Vec<u8>,
    ends: Vec<usize>,
    /// The current record's fields, as ranges of the input or of `out`.
    fields: Vec<Range<usize>>,
    in_out: bool,
}

impl Records {
    pub(crate) fn new() -> Self {
        Self {
            // The defaults are `csv::ReaderBuilder`'s: comma, `"` quoting
            // with doubled quotes, CR, LF or CRLF ending a record.
            core: csv_core::Reader::new(),
            out: vec![0; 1024],
            ends: vec![0; 32],
            fields: Vec::with_capacity(32),
            in_out: false,
        }
    }

    /// Reads the record at or after `at`, a record boundary of `input`
    /// (blank lines before it are skipped, as they are not rows). Returns
    /// where it ends (the byte after its line end), or `None` when only
    /// blank lines remain.
    pub(crate) fn read(&mut self, input: &[u8], mut at: usize) -> Option<usize> {
        while input.get(at) == Some(&b'\n') {
            at += 1;
        }
        let rest = input.get(at..).filter(|r| !r.is_empty())?;
        let line_len = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
        let line = &rest[..line_len];
        if memchr::memchr2(b'"', b'\r', line).is_some() {
            return self.parse(rest).map(|used| at + used);
        }
        self.in_out = false;
        self.fields.clear();
        let mut start = at;
        for comma in memchr::memchr_iter(b',', line) {
            self.fields.push(start..at + comma);
            start = at + comma + 1;
        }
        self.fields.push(start..at + line_len);
        Some((at + line_len + 1).min(input.len()))
    }

    /// One record through `csv_core`; returns the bytes it used.
    fn parse(&mut self, input: &[u8]) -> Option<usize> {
        use csv_core::ReadRecordResult as R;
        // Every call starts at a record boundary, whatever the previous
        // record (split or parsed) ended with.
        self.core.reset();
        let (mut used, mut nout, mut nends) = (0, 0, 0);
        loop {
            let (result, i, o, e) = self.core.read_record(
                &input[used..],
                &mut self.out[nout..],
                &mut self.ends[nends..],
            );
            used += i;
            nout += o;
            nends += e;
            match result {
                // Input used up: the next call, with nothing, says so.
                R::InputEmpty => {}
                R::OutputFull => self.out.resize(self.out.len() * 2, 0),
                R::OutputEndsFull => self.ends.resize(self.ends.len() * 2, 0),
                R::Record => break,
                R::End => return None,
            }
        }
        self.in_out = true;
        self.fields.clear();
        let mut start = 0;
        for &end in &self.ends[..nends] {
            self.fields.push(start..end);
            start = end;
        }
        Some(used)
    }

    /// The current record's field count.
    pub(crate) fn len(&self) -> usize {
        self.fields.len()
    }

    /// Field `i` of the current record (empty past the last).
    pub(crate) fn field<'a>(&'a self, input: &'a [u8], i: usize) -> &'a [u8] {
        let buf = if self.in_out { &self.out[..] } else { input };
        self.fields
            .get(i)
            .and_then(|r| buf.get(r.clone()))
            .unwrap_or_default()
    }

    /// The current record as UTF-8 text, field by field, when all of it is.
    pub(crate) fn text<'a>(&'a self, input: &'a [u8]) -> Option<&'a str> {
        let (Some(first), Some(last)) = (self.fields.first(), self.fields.last()) else {
            return Some("");
        };
        // Split records: the line itself, commas included (a field cut in
        // the middle of a character leaves the line invalid too: a comma
        // is no continuation byte). Parsed ones: the fields back to back,
        // checked one by one, as `csv::StringRecord` does.
        if self.in_out {
            let ok = self
                .fields
                .iter()
                .all(|r| simdutf8::basic::from_utf8(&self.out[r.clone()]).is_ok());
            return ok
                .then(|| simdutf8::basic::from_utf8(&self.out[first.start..last.end]).ok())
                .flatten();
        }
        // std's check was 6 % of promote's profile; simdutf8's gives the
        // same verdict with SIMD (and says no more on failure: the
        // field-by-field path then names the column).
        simdutf8::basic::from_utf8(&input[first.start..last.end]).ok()
    }

    /// Field `i` of the current record as a slice of [`Records::text`]'s text.
    pub(crate) fn text_field<'a>(&self, text: &'a str, i: usize) -> &'a str {
        let base = self.fields.first().map_or(0, |r| r.start);
        self.fields
            .get(i)
            .and_then(|r| text.get(r.start - base..r.end - base))
            .unwrap_or_default()
    }

    /// The current record, for writing it to the rejects file.
    pub(crate) fn to_byte_record(&self, input: &[u8]) -> csv::ByteRecord {
        (0..self.len()).map(|i| self.field(input, i)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Every record `csv::Reader` reads from `input` (as the contract's
    /// reader is set up): its fields and where it ends.
    fn by_csv(input: &[u8]) -> Vec<(Vec<Vec<u8>>, usize)> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(input);
        let mut record = csv::ByteRecord::new();
        let mut out = Vec::new();
        while reader.read_byte_record(&mut record).unwrap_or(false) {
            let end = usize::try_from(reader.position().byte()).unwrap_or(usize::MAX);
            out.push((record.iter().map(<[u8]>::to_vec).collect(), end));
        }
        out
    }

    fn by_records(input: &[u8]) -> Vec<(Vec<Vec<u8>>, usize)> {
        let mut records = Records::new();
        let mut out = Vec::new();
        let mut at = 0;
        while let Some(end) = records.read(input, at) {
            let fields = (0..records.len())
                .map(|i| records.field(input, i).to_vec())
                .collect();
            out.push((fields, end));
            at = end;
        }
        out
    }

    fn piece() -> impl Strategy<Value = &'static str> {
        prop_oneof![
            6 => Just("ab"),
            3 => Just(","),
            2 => Just("\n"),
            1 => Just("\r"),
            1 => Just("\r\n"),
            2 => Just("\""),
            1 => Just("\"\""),
            1 => Just("é"),
            1 => Just(" "),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Same fields, same ends, whatever mix of quotes, CRs and blank
        /// lines; a CR ends a record where `csv` ends it.
        #[test]
        fn records_are_the_ones_csv_reads(pieces in prop::collection::vec(piece(), 0..40)) {
            let input = pieces.concat().into_bytes();
            let (ours, theirs) = (by_records(&input), by_csv(&input));
            // Where a record ends after a CR, `csv` may report the end
            // before or after a following LF; both are blank-line bytes.
            prop_assert_eq!(ours.len(), theirs.len(), "{:?}", String::from_utf8_lossy(&input));
            for ((of, oe), (tf, te)) in ours.iter().zip(&theirs) {
                prop_assert_eq!(of, tf, "{:?}", String::from_utf8_lossy(&input));
                let (lo, hi) = (*oe.min(te), *oe.max(te));
                prop_assert!(
                    input[lo..hi].iter().all(|&b| b == b'\n' || b == b'\r'),
                    "ends {} and {} in {:?}", oe, te, String::from_utf8_lossy(&input)
                );
            }
        }
    }

    #[test]
    fn a_plain_line_is_split_on_its_commas_and_a_quoted_one_parsed() {
        let input = b"a,,b\n\n\"x,\"\"y\"\"\",z\r\nlast";
        let fields: Vec<Vec<Vec<u8>>> = by_records(input).into_iter().map(|(f, _)| f).collect();
        assert_eq!(
            fields,
            vec![
                vec![b"a".to_vec(), vec![], b"b".to_vec()],
                vec![b"x,\"y\"".to_vec(), b"z".to_vec()],
                vec![b"last".to_vec()],
            ]
        );
        assert_eq!(by_records(input).last().map(|r| r.1), Some(input.len()));
    }

    #[test]
    fn text_is_the_record_when_every_field_is_utf8() {
        let mut records = Records::new();
        let input = "é,\"ü,x\"\n".as_bytes();
        records.read(input, 0);
        let text = records.text(input).unwrap_or_else(|| panic!("not UTF-8"));
        assert_eq!(records.text_field(text, 0), "é");
        assert_eq!(records.text_field(text, 1), "ü,x");
        // A field cut inside a character: csv's StringRecord refuses it.
        let bad = b"\xc3,\xa9\n";
        records.read(bad, 0);
        assert_eq!(records.text(bad), None);
        let quoted = b"\"\xc3\",\"\xa9\"\n";
        records.read(quoted, 0);
        assert_eq!(records.text(quoted), None);
    }
}
