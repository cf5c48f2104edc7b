//! One pass over the raw file: split rows into valid columns (for polars) and
//! the rejects file (as they came, plus `reject_reason`).

use polars::prelude::*;

use super::split::Records;
use super::validate::{RejectReason, ValidRow, validate_fields, validate_text};
use super::{ContractError, RAW_COLUMNS};

/// Which optional columns a computation needs: building fewer string
/// columns saves time and memory on big files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// The product aggregate: needs `abandoned_at` and `category`.
    Process,
    /// The promotion list: needs `customer_email`.
    Promote,
}

/// The valid rows of a raw file as a polars frame of integers:
/// `customer_id`, `product_id` (UInt32: the digits after `C` / `P`; the
/// contract fixes their width, so numeric order is byte order and grouping
/// hashes integers instead of strings), `quantity`, `value` (Int64, cents =
/// quantity × unit_price), plus `abandoned_at` (UInt64, [`timestamp_key`])
/// for [`Purpose::Process`]. The texts the outputs carry are kept apart, as
/// the contract's smallest text per id ([`Lookups`]).
///
/// [`timestamp_key`]: super::validate::timestamp_key
pub struct ValidRows {
    /// Data rows in the input (empty lines are not rows).
    pub rows: u64,
    pub valid: u64,
    pub frame: DataFrame,
    pub lookups: Lookups,
    /// The rejects file, when asked for and some row was rejected.
    pub rejects: Option<Vec<u8>>,
}

/// The smallest text (byte order) seen per id. The contract's product
/// names, categories and customer emails are each a per-id minimum: kept
/// here as rows are read, one entry per product or customer, they cost
/// neither a string column of a million rows nor a string aggregation
/// (which dominated the profile).
///
/// A table indexed by id, not a hash map: a valid row's ids have six digits
/// at most (`C` + 6, `P` + 5), so the table never passes [`TABLE_IDS`]
/// entries, and a row costs one cache miss where the map's control bytes
/// and its entry cost two (the map was 12 % of promote's profile: 200,000
/// customers, a million rows, in random order). The table grows to the
/// largest id seen: 8 MB for 200,000 customers, 40 MB (per reader thread)
/// at most, for a file with an id near 999,999. Larger ids, which only
/// [`MinText::from_pairs`] can give, go to a map beside it.
#[derive(Debug, Clone, Default)]
pub struct MinText {
    table: Vec<Option<Text>>,
    spill: std::collections::HashMap<u32, Text, foldhash::fast::FixedState>,
    len: usize,
}

/// Ids below this are kept in [`MinText`]'s table: every id of a valid row.
const TABLE_IDS: usize = 1_000_000;

impl PartialEq for MinText {
    fn eq(&self, other: &Self) -> bool {
        // The same texts for the same ids, however the table grew.
        self.len == other.len && self.ids().all(|id| other.find(id) == self.find(id))
    }
}

impl Eq for MinText {}

/// A text kept in its map entry when short (emails and names almost always
/// are): a row of an already seen customer then compares against the entry
/// the lookup just loaded, not a second, cold allocation. This was half of
/// reading's time in promote's profile (200,000 customers, a million rows).
#[derive(Clone, PartialEq, Eq)]
enum Text {
    Inline { len: u8, bytes: [u8; INLINE] },
    Heap(Box<str>),
}

/// With the tag and the length: 40 bytes, the size of the `Heap` variant's
/// alignment rounding anyway.
const INLINE: usize = 38;

impl Text {
    fn new(text: &str) -> Self {
        match u8::try_from(text.len()) {
            Ok(len) if text.len() <= INLINE => {
                let mut bytes = [0; INLINE];
                bytes[..text.len()].copy_from_slice(text.as_bytes());
                Text::Inline { len, bytes }
            }
            _ => Text::Heap(text.into()),
        }
    }

    /// The bytes, unchecked: what comparisons use (byte order is the
    /// contract's order, and a million rows need no UTF-8 check each).
    fn as_bytes(&self) -> &[u8] {
        match self {
            Text::Inline { len, bytes } => &bytes[..usize::from(*len)],
            Text::Heap(text) => text.as_bytes(),
        }
    }

    fn as_str(&self) -> &str {
        match self {
            // Copied from a `&str` whole, so always UTF-8; the fallback is
            // never taken.
            Text::Inline { len, bytes } => {
                std::str::from_utf8(&bytes[..usize::from(*len)]).unwrap_or_default()
            }
            Text::Heap(text) => text,
        }
    }
}

/// A text offered to [`MinText`]: a row's `&str`, copied only when kept,
/// or a [`Text`] already made (a batch's).
trait Offered {
    fn bytes(&self) -> &[u8];
    fn into_text(self) -> Text;
}

impl Offered for &str {
    fn bytes(&self) -> &[u8] {
        self.as_bytes()
    }
    fn into_text(self) -> Text {
        Text::new(self)
    }
}

impl Offered for Text {
    fn bytes(&self) -> &[u8] {
        self.as_bytes()
    }
    fn into_text(self) -> Text {
        self
    }
}

impl std::fmt::Debug for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.as_str().fmt(f)
    }
}

impl MinText {
    /// Offers a batch of texts (and empties it). Customers come in random
    /// order, so each entry is a cache miss: first every entry is loaded
    /// with nothing waiting on the loads, so that their misses overlap,
    /// then each text is offered to an entry now in cache. One by one, each
    /// miss waited behind the parse of its row (the email table was 17 % of
    /// promote's profile).
    fn offer_batch(&mut self, batch: &mut Vec<(u32, Text)>) {
        if let Some(max) = batch.iter().map(|&(id, _)| id as usize).max() {
            self.reserve(max);
        }
        let touched = batch
            .iter()
            .filter(|&&(id, _)| matches!(self.table.get(id as usize), Some(Some(_))))
            .count();
        std::hint::black_box(touched);
        for (id, text) in batch.drain(..) {
            self.offer(id, text);
        }
    }

    /// Grows the table to hold id `i`, within [`TABLE_IDS`].
    fn reserve(&mut self, i: usize) {
        if i >= self.table.len() && i < TABLE_IDS {
            // Doubling: ids arrive in any order.
            let grown = (i + 1).max(2 * self.table.len()).min(TABLE_IDS);
            self.table.resize_with(grown, || None);
        }
    }

    /// The table's entry for `id`, grown to hold it; `None` for an id the
    /// table does not hold (the spill map's).
    fn slot(&mut self, id: u32) -> Option<&mut Option<Text>> {
        let i = usize::try_from(id).ok().filter(|&i| i < TABLE_IDS)?;
        self.reserve(i);
        self.table.get_mut(i)
    }

    /// Keeps `text` for `id` if it is the first or smaller than the kept
    /// one; a `&str` becomes a [`Text`] only then.
    fn offer(&mut self, id: u32, text: impl Offered) {
        use std::collections::hash_map::Entry;
        let slot = match self.slot(id) {
            Some(slot) => slot,
            None => match self.spill.entry(id) {
                Entry::Occupied(e) => {
                    let kept = e.into_mut();
                    if text.bytes() < kept.as_bytes() {
                        *kept = text.into_text();
                    }
                    return;
                }
                Entry::Vacant(e) => {
                    e.insert(text.into_text());
                    self.len += 1;
                    return;
                }
            },
        };
        match slot {
            Some(kept) => {
                if text.bytes() < kept.as_bytes() {
                    *kept = text.into_text();
                }
            }
            None => {
                *slot = Some(text.into_text());
                self.len += 1;
            }
        }
    }

    #[cfg(test)]
    fn merge(&mut self, mut other: MinText) {
        self.absorb(&mut other);
    }

    /// Takes every text of `other`, leaving it empty with its table's
    /// memory kept for reuse (a streamed file's next window: a fresh table
    /// per window was 40,000 more page faults for a million rows).
    fn absorb(&mut self, other: &mut MinText) {
        if self.len == 0 {
            std::mem::swap(self, other);
            return;
        }
        for (i, slot) in other.table.iter_mut().enumerate() {
            if let (Some(text), Ok(id)) = (slot.take(), u32::try_from(i)) {
                self.offer(id, text);
            }
        }
        for (id, text) in other.spill.drain() {
            self.offer(id, text);
        }
        other.len = 0;
    }

    fn find(&self, id: u32) -> Option<&Text> {
        match usize::try_from(id) {
            Ok(i) if i < TABLE_IDS => self.table.get(i).and_then(Option::as_ref),
            _ => self.spill.get(&id),
        }
    }

    /// The text for `id` (empty for an id no valid row had).
    pub fn get(&self, id: u32) -> &str {
        self.find(id).map_or("", Text::as_str)
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// The ids that have a text.
    pub fn ids(&self) -> impl Iterator<Item = u32> + '_ {
        let table = self
            .table
            .iter()
            .enumerate()
            .filter(|(_, t)| t.is_some())
            .filter_map(|(i, _)| u32::try_from(i).ok());
        table.chain(self.spill.keys().copied())
    }

    /// The smallest text per id of `pairs`.
    pub fn from_pairs(pairs: impl IntoIterator<Item = (u32, String)>) -> Self {
        let mut m = Self::default();
        for (id, text) in pairs {
            m.offer(id, text.as_str());
        }
        m
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// The per-id texts a computation needs: product names always;
/// categories for [`Purpose::Process`], emails for [`Purpose::Promote`]
/// (empty otherwise).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lookups {
    pub names: MinText,
    pub categories: MinText,
    pub emails: MinText,
}

impl Lookups {
    /// See [`MinText::absorb`].
    fn absorb(&mut self, other: &mut Lookups) {
        self.names.absorb(&mut other.names);
        self.categories.absorb(&mut other.categories);
        self.emails.absorb(&mut other.emails);
    }
}

struct Columns {
    abandoned_at: Option<Vec<u64>>,
    customer_id: Vec<u32>,
    product_id: Vec<u32>,
    quantity: Vec<i64>,
    value: Vec<i64>,
    lookups: Lookups,
    /// Emails not yet offered: see [`MinText::offer_batch`].
    emails: Vec<(u32, Text)>,
    purpose: Purpose,
}

/// Emails offered at a time: enough misses in flight to cover the
/// latency, few enough that the batch stays in L1.
const EMAIL_BATCH: usize = 32;

impl Columns {
    fn new(capacity: usize, purpose: Purpose) -> Self {
        Self {
            abandoned_at: (purpose == Purpose::Process).then(|| Vec::with_capacity(capacity)),
            customer_id: Vec::with_capacity(capacity),
            product_id: Vec::with_capacity(capacity),
            quantity: Vec::with_capacity(capacity),
            value: Vec::with_capacity(capacity),
            lookups: Lookups::default(),
            emails: Vec::with_capacity(EMAIL_BATCH),
            purpose,
        }
    }

    fn push(&mut self, row: &ValidRow<'_>) {
        let (customer, product) = (id_number(row.customer_id), id_number(row.product_id));
        self.customer_id.push(customer);
        self.product_id.push(product);
        self.lookups.names.offer(product, row.product_name);
        match self.purpose {
            Purpose::Process => self.lookups.categories.offer(product, row.category),
            Purpose::Promote => {
                self.emails.push((customer, Text::new(row.customer_email)));
                if self.emails.len() == EMAIL_BATCH {
                    self.lookups.emails.offer_batch(&mut self.emails);
                }
            }
        }
        if let Some(b) = &mut self.abandoned_at {
            b.push(row.abandoned_at);
        }
        self.quantity.push(row.quantity);
        self.value.push(row.quantity * row.unit_price_cents);
    }

    fn into_parts(mut self) -> Result<(DataFrame, Lookups), ContractError> {
        self.lookups.emails.offer_batch(&mut self.emails);
        let height = self.quantity.len();
        let mut columns = vec![
            UInt32Chunked::from_vec("customer_id".into(), self.customer_id).into_column(),
            UInt32Chunked::from_vec("product_id".into(), self.product_id).into_column(),
            Int64Chunked::from_vec("quantity".into(), self.quantity).into_column(),
            Int64Chunked::from_vec("value".into(), self.value).into_column(),
        ];
        if let Some(at) = self.abandoned_at {
            columns.push(UInt64Chunked::from_vec("abandoned_at".into(), at).into_column());
        }
        Ok((DataFrame::new(height, columns)?, self.lookups))
    }
}

/// Reads a raw file. Fails only when the file breaks the contract as a whole
/// (missing columns); bad rows are counted and, if `collect_rejects`, written
/// to the rejects file.
///
/// Big files are read in parallel, one slice per core (see [`read_chunked`]);
/// the result is the same as one sequential pass, byte for byte.
pub fn read_raw(
    input: &[u8],
    collect_rejects: bool,
    purpose: Purpose,
) -> Result<ValidRows, ContractError> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    read_chunked(input, collect_rejects, purpose, threads, MIN_CHUNK)
}

/// Below this many bytes per slice, a thread costs more than it saves.
const MIN_CHUNK: usize = 4 << 20;

/// [`read_raw`] with the slice count and minimum slice size chosen by the
/// caller (tests force many tiny slices to exercise every seam). How
/// slices are checked: [`Ctx::read_window`].
pub(crate) fn read_chunked(
    input: &[u8],
    collect_rejects: bool,
    purpose: Purpose,
    threads: usize,
    min_chunk: usize,
) -> Result<ValidRows, ContractError> {
    // Writers must not emit a BOM, but readers should not trip on one.
    let input = input.strip_prefix(BOM).unwrap_or(input);
    let Some(header) = Header::read(input, true)? else {
        return Err(ContractError::Csv("the header has no end".into()));
    };
    let ctx = Ctx {
        input,
        index: header.index,
        expected: header.record.len(),
        collect_rejects,
        purpose,
        complete: true,
    };
    let mut gathered = Gathered::new(collect_rejects, purpose);
    let (parts, _) = ctx.read_window(header.body_start, threads, min_chunk, &mut gathered.spare)?;
    for part in parts {
        gathered.add(part, &header.record)?;
    }
    gathered.finish()
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The header record, where the body starts, and the required columns'
/// places in it.
struct Header {
    record: csv::ByteRecord,
    body_start: usize,
    index: [usize; 12],
}

impl Header {
    /// `None` when `input` is not `complete` and the header may go on in
    /// bytes not here yet.
    fn read(input: &[u8], complete: bool) -> Result<Option<Header>, ContractError> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(input);
        let mut record = csv::ByteRecord::new();
        if let Err(e) = reader.read_byte_record(&mut record) {
            return Err(ContractError::Csv(e.to_string()));
        }
        let body_start = usize::try_from(reader.position().byte()).unwrap_or(input.len());
        if !complete && body_start >= input.len() {
            return Ok(None);
        }
        let index = column_index(&record)?;
        Ok(Some(Header {
            record,
            body_start,
            index,
        }))
    }
}

/// A raw file read as it arrives, a window at a time, with the result of
/// [`read_raw`] on the whole file, byte for byte: the functions read their
/// object from S3 through it instead of holding the file whole (150 MB for
/// a million rows, in fresh pages, before the first row was read).
///
/// Bytes are gathered into a window; a full window is read as
/// [`read_chunked`] reads a file, in parallel slices, up to its last
/// record that surely ends inside it. What follows that record (the start
/// of one that may go on in bytes not here yet) moves to the window's
/// front and is read with the next bytes.
pub struct RawReader {
    window: Vec<u8>,
    /// Read the window once it holds this much.
    read_at: usize,
    window_size: usize,
    threads: usize,
    min_chunk: usize,
    started: bool,
    header: Option<Header>,
    collect_rejects: bool,
    purpose: Purpose,
    gathered: Gathered,
}

/// The window [`RawReader`] reads at a time: two slices of [`MIN_CHUNK`]
/// per core here, few enough threads started per file (one set per
/// window), small enough to stay in cache-warm pages that are reused.
const WINDOW: usize = 16 << 20;

impl RawReader {
    pub fn new(collect_rejects: bool, purpose: Purpose) -> Self {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self::with_sizes(collect_rejects, purpose, threads, MIN_CHUNK, WINDOW)
    }

    /// [`RawReader::new`] with the thread count, slice and window sizes set
    /// (tests make them tiny, so every seam is met).
    pub(crate) fn with_sizes(
        collect_rejects: bool,
        purpose: Purpose,
        threads: usize,
        min_chunk: usize,
        window: usize,
    ) -> Self {
        let window = window.max(1);
        Self {
            window: Vec::with_capacity(window.saturating_add(1 << 20).min(WINDOW + (1 << 20))),
            read_at: window,
            window_size: window,
            threads,
            min_chunk,
            started: false,
            header: None,
            collect_rejects,
            purpose,
            gathered: Gathered::new(collect_rejects, purpose),
        }
    }

    /// Takes the next bytes of the file. Fails as soon as the file breaks
    /// the contract as a whole (a header without the required columns), so
    /// the caller can stop fetching it.
    pub fn push(&mut self, bytes: &[u8]) -> Result<(), ContractError> {
        self.window.extend_from_slice(bytes);
        // The header is read as soon as it may be whole, not a window later.
        if self.header.is_none() && memchr::memchr2(b'\n', b'\r', bytes).is_some() {
            self.read_header(false)?;
        }
        if self.window.len() >= self.read_at {
            let before = self.window.len();
            self.read_window(false)?;
            // Nothing ended in the window (a header or a record longer
            // than it): wait for twice as much, not for every next byte.
            self.read_at = if self.window.len() == before {
                before.saturating_mul(2)
            } else {
                self.window_size
            };
        }
        Ok(())
    }

    /// The file ended: the rest is read, and the result is [`read_raw`]'s.
    pub fn finish(mut self) -> Result<ValidRows, ContractError> {
        self.read_window(true)?;
        self.gathered.finish()
    }

    /// Reads the header once it is whole (or the file ended); after it,
    /// the window holds the body.
    fn read_header(&mut self, complete: bool) -> Result<(), ContractError> {
        if !self.started {
            // Bytes that may yet be a BOM wait for the rest of it.
            if !complete && self.window.len() < BOM.len() && BOM.starts_with(&self.window) {
                return Ok(());
            }
            if self.window.starts_with(BOM) {
                self.window.drain(..BOM.len());
            }
            self.started = true;
        }
        if self.header.is_none()
            && let Some(header) = Header::read(&self.window, complete)?
        {
            self.window.drain(..header.body_start);
            self.header = Some(header);
        }
        Ok(())
    }

    fn read_window(&mut self, complete: bool) -> Result<(), ContractError> {
        self.read_header(complete)?;
        let Some(header) = &self.header else {
            return Ok(());
        };
        let ctx = Ctx {
            input: &self.window,
            index: header.index,
            expected: header.record.len(),
            collect_rejects: self.collect_rejects,
            purpose: self.purpose,
            complete,
        };
        let (parts, end) =
            ctx.read_window(0, self.threads, self.min_chunk, &mut self.gathered.spare)?;
        for part in parts {
            self.gathered.add(part, &header.record)?;
        }
        self.window.drain(..end);
        Ok(())
    }
}

/// What every slice reader shares./// What every slice reader shares.
#[derive(Clone, Copy)]
struct Ctx<'a> {
    input: &'a [u8],
    index: [usize; 12],
    expected: usize,
    collect_rejects: bool,
    purpose: Purpose,
    /// The input holds the rest of the file. When not, a record that runs
    /// to the input's end may go on, so it is left for the next window.
    complete: bool,
}

/// The rows of one slice.
struct Part {
    cols: Columns,
    rows: u64,
    /// Reject rows (no header), as the CSV writer wrote them.
    rejects: Vec<u8>,
    /// Where the reader stopped: the byte after the last record it read.
    end: usize,
}

impl Ctx<'_> {
    /// Reads `input` from `from` (a record boundary) in up to `threads`
    /// slices: the parts in order, and where the last one stopped.
    ///
    /// CSV cannot be split blindly: a newline may sit inside a quoted field.
    /// So the slices start at guesses (the byte after a newline) and are
    /// checked: the reader of slice i runs until it reaches slice i+1's
    /// start, and slice i+1's result is used only if that reader stopped
    /// exactly there (give or take blank lines, which are not rows). A wrong
    /// guess is re-read from where the previous reader really stopped, so
    /// the outcome never depends on the guesses, only the speed does.
    fn read_window(
        &self,
        from: usize,
        threads: usize,
        min_chunk: usize,
        spare: &mut Vec<Lookups>,
    ) -> Result<(Vec<Part>, usize), ContractError> {
        let input = self.input;
        let starts = slice_starts(input, from, threads, min_chunk);
        let stops: Vec<usize> = starts
            .iter()
            .skip(1)
            .copied()
            .chain([input.len()])
            .collect();
        let mut parts: Vec<Option<Result<Part, ContractError>>> = if starts.len() == 1 {
            vec![Some(self.read_part(from, input.len(), spare.pop()))]
        } else {
            std::thread::scope(|scope| {
                let handles: Vec<_> = starts
                    .iter()
                    .zip(&stops)
                    .map(|(&from, &to)| {
                        let lookups = spare.pop();
                        scope.spawn(move || self.read_part(from, to, lookups))
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| {
                        Some(h.join().unwrap_or_else(|_| {
                            Err(ContractError::Csv("a reader thread panicked".into()))
                        }))
                    })
                    .collect()
            })
        };

        // Stitch the slices in order, re-reading any whose start was a bad guess.
        let mut merged: Vec<Part> = Vec::with_capacity(parts.len());
        let mut at = from;
        for (i, (&start, &stop)) in starts.iter().zip(&stops).enumerate() {
            let part = if at == start || (at < start && only_line_ends(&input[at..start])) {
                parts[i]
                    .take()
                    .unwrap_or_else(|| self.read_part(start, stop, spare.pop()))?
            } else if at < stop {
                self.read_part(at, stop, spare.pop())?
            } else {
                // A record ran over this whole slice; the previous part holds it.
                continue;
            };
            at = part.end;
            merged.push(part);
        }
        Ok((merged, at))
    }

    /// Read records starting at `from` (a record boundary) until the reader
    /// reaches `stop` or the end of the input.
    fn read_part(
        &self,
        from: usize,
        stop: usize,
        lookups: Option<Lookups>,
    ) -> Result<Part, ContractError> {
        let input = self.input;
        let mut records = Records::new();
        let guess = (stop - from) / 160 + 1;
        let mut cols = Columns::new(guess, self.purpose);
        if let Some(lookups) = lookups {
            cols.lookups = lookups;
        }
        let mut rejects: Option<csv::Writer<Vec<u8>>> = None;
        let mut rows = 0u64;
        let mut at = from;
        let end = loop {
            // Blank lines before `stop` are not rows: stopping in front of them
            // keeps the seam exact whichever way the reader treats CR LF.
            if at >= stop || only_line_ends(&input[at..stop]) {
                break at;
            }
            let next = match records.read(input, at) {
                Some(next) if self.complete || next < input.len() => next,
                // Only blank lines are left, or a record that may go on.
                _ if !self.complete => break at,
                _ => break input.len(),
            };
            at = next;
            rows += 1;
            if records.len() != self.expected {
                let reason = RejectReason::FieldCount {
                    expected: self.expected,
                    found: records.len(),
                };
                if self.collect_rejects {
                    write_reject(&mut rejects, &records.to_byte_record(input), reason)?;
                }
                continue;
            }
            // One UTF-8 check for the whole record (no copy); a record
            // that fails it goes field by field, for the reject's column.
            let verdict = match records.text(input) {
                Some(text) => validate_text(self.index.map(|i| records.text_field(text, i))),
                None => validate_fields(self.index.map(|i| records.field(input, i))),
            };
            match verdict {
                Ok(row) => cols.push(&row),
                Err(reason) if self.collect_rejects => {
                    write_reject(&mut rejects, &records.to_byte_record(input), reason)?;
                }
                Err(_) => {}
            }
        };
        let rejects = match rejects {
            Some(w) => w
                .into_inner()
                .map_err(|e| ContractError::Csv(e.to_string()))?,
            None => Vec::new(),
        };
        Ok(Part {
            cols,
            rows,
            rejects,
            end,
        })
    }
}

/// Appends a rejected row, as it came plus its reason.
fn write_reject(
    rejects: &mut Option<csv::Writer<Vec<u8>>>,
    record: &csv::ByteRecord,
    reason: RejectReason,
) -> Result<(), ContractError> {
    let w = rejects.get_or_insert_with(|| super::csv_writer(Vec::new()));
    let reason = reason.to_string();
    w.write_record(record.iter().chain([reason.as_bytes()]))
        .map_err(|e| ContractError::Csv(e.to_string()))
}

fn only_line_ends(bytes: &[u8]) -> bool {
    bytes.iter().all(|&b| b == b'\n' || b == b'\r')
}

/// Where each slice's reader starts: the body start, then about every
/// `len / threads` bytes, each moved to just after a newline.
fn slice_starts(input: &[u8], body_start: usize, threads: usize, min_chunk: usize) -> Vec<usize> {
    let body = input.len().saturating_sub(body_start);
    let slices = threads.clamp(1, (body / min_chunk.max(1)).max(1));
    let mut starts = vec![body_start];
    for k in 1..slices {
        let guess = body_start + body / slices * k;
        let Some(last) = starts.last().copied() else {
            break;
        };
        let from = guess.max(last + 1);
        match input
            .get(from..)
            .and_then(|rest| rest.iter().position(|&b| b == b'\n'))
        {
            Some(nl) if from + nl + 1 < input.len() => starts.push(from + nl + 1),
            _ => break,
        }
    }
    starts
}

/// The parts of a file, in order, gathered into its [`ValidRows`].
struct Gathered {
    rows: u64,
    rejects: Option<Vec<u8>>,
    frame: Option<DataFrame>,
    lookups: Lookups,
    /// Emptied lookups of added parts, for the next window's readers.
    spare: Vec<Lookups>,
    collect_rejects: bool,
    purpose: Purpose,
}

impl Gathered {
    fn new(collect_rejects: bool, purpose: Purpose) -> Self {
        Self {
            rows: 0,
            rejects: None,
            frame: None,
            lookups: Lookups::default(),
            spare: Vec::new(),
            collect_rejects,
            purpose,
        }
    }

    /// Adds the part that follows the ones added before.
    fn add(&mut self, part: Part, header: &csv::ByteRecord) -> Result<(), ContractError> {
        self.rows += part.rows;
        if self.collect_rejects && !part.rejects.is_empty() {
            let out = match &mut self.rejects {
                Some(out) => out,
                None => self.rejects.insert(
                    rejects_writer(header)?
                        .into_inner()
                        .map_err(|e| ContractError::Csv(e.to_string()))?,
                ),
            };
            out.extend_from_slice(&part.rejects);
        }
        let (df, texts) = part.cols.into_parts()?;
        let mut texts = texts;
        self.lookups.absorb(&mut texts);
        self.spare.push(texts);
        match &mut self.frame {
            None => self.frame = Some(df),
            Some(f) => {
                f.vstack_mut_owned(df)?;
            }
        }
        Ok(())
    }

    fn finish(self) -> Result<ValidRows, ContractError> {
        let frame = match self.frame {
            Some(f) => f,
            None => Columns::new(0, self.purpose).into_parts()?.0,
        };
        Ok(ValidRows {
            rows: self.rows,
            valid: frame.height() as u64,
            frame,
            lookups: self.lookups,
            rejects: self.rejects,
        })
    }
}

/// The digits of a validated `C123456` / `P12345`.
fn id_number(id: &str) -> u32 {
    id.bytes()
        .skip(1)
        .fold(0, |n, d| n * 10 + u32::from(d.wrapping_sub(b'0')))
}

/// Where each required column sits in the header (first occurrence wins).
fn column_index(header: &csv::ByteRecord) -> Result<[usize; 12], ContractError> {
    let mut index = [usize::MAX; 12];
    for (i, name) in RAW_COLUMNS.iter().enumerate() {
        if let Some(pos) = header.iter().position(|h| h == name.as_bytes()) {
            index[i] = pos;
        }
    }
    let missing: Vec<String> = RAW_COLUMNS
        .iter()
        .zip(index)
        .filter(|(_, i)| *i == usize::MAX)
        .map(|(name, _)| (*name).to_owned())
        .collect();
    if missing.is_empty() {
        Ok(index)
    } else {
        Err(ContractError::MissingColumns { missing })
    }
}

fn rejects_writer(header: &csv::ByteRecord) -> Result<csv::Writer<Vec<u8>>, ContractError> {
    let mut w = super::csv_writer(Vec::new());
    w.write_record(header.iter().chain([b"reject_reason".as_slice()]))
        .map_err(|e| ContractError::Csv(e.to_string()))?;
    Ok(w)
}

#[cfg(test)]
mod chunk_tests {
    use super::*;
    use proptest::prelude::*;

    const HEADER: &str = "event_id,abandoned_at,customer_id,customer_name,customer_email,product_id,product_name,category,quantity,unit_price,device,country";

    /// Fields that stress the seams: quoted newlines and commas, doubled and
    /// stray quotes, CR, empty values, alongside valid ones.
    fn field() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => Just("E1".to_owned()),
            1 => Just("\"multi\nline\"".to_owned()),
            1 => Just("\"a,b\"".to_owned()),
            1 => Just("\"say \"\"hi\"\"\"".to_owned()),
            1 => Just("x\"y".to_owned()),
            1 => Just("\"\n\n\"".to_owned()),
            1 => Just(String::new()),
            1 => Just("\"open".to_owned()),
        ]
    }

    fn valid_row(c: u32, p: u32) -> String {
        format!(
            "E{c}{p},2026-03-01T10:00:00Z,C{c:06},\"Ann, B\",a{c}@x.io,P{p:05},\"Mug \"\"XL\"\"\",Home,{},{}.50,mobile,DE",
            c % 7 + 1,
            p % 90 + 1
        )
    }

    fn line() -> impl Strategy<Value = String> {
        prop_oneof![
            6 => (0u32..50, 0u32..20).prop_map(|(c, p)| valid_row(c, p)),
            2 => prop::collection::vec(field(), 1..14).prop_map(|f| f.join(",")),
            1 => Just(String::new()),
        ]
    }

    fn file() -> impl Strategy<Value = Vec<u8>> {
        (
            prop::collection::vec(
                (line(), prop_oneof![Just("\n"), Just("\r\n"), Just("\r")]),
                0..60,
            ),
            any::<bool>(),
        )
            .prop_map(|(lines, final_newline)| {
                let mut s = format!("{HEADER}\n");
                let n = lines.len();
                for (i, (l, end)) in lines.into_iter().enumerate() {
                    s.push_str(&l);
                    if i + 1 < n || final_newline {
                        s.push_str(end);
                    }
                }
                s.into_bytes()
            })
    }

    fn same(a: &ValidRows, b: &ValidRows) -> bool {
        a.rows == b.rows
            && a.valid == b.valid
            && a.rejects == b.rejects
            && a.lookups == b.lookups
            && a.frame.equals_missing(&b.frame)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        #[test]
        fn any_split_reads_exactly_like_one_pass(
            input in file(),
            threads in 2usize..7,
            min_chunk in 1usize..64,
            process in any::<bool>(),
        ) {
            let purpose = if process { Purpose::Process } else { Purpose::Promote };
            let one = read_chunked(&input, true, purpose, 1, usize::MAX);
            let many = read_chunked(&input, true, purpose, threads, min_chunk);
            match (one, many) {
                (Ok(a), Ok(b)) => prop_assert!(same(&a, &b), "{}", String::from_utf8_lossy(&input)),
                (Err(a), Err(b)) => prop_assert_eq!(a, b),
                (a, b) => prop_assert!(false, "one pass {:?} vs split {:?}", a.map(|r| r.rows), b.map(|r| r.rows)),
            }
        }
    }

    /// The file pushed in pieces of the given sizes (cycled), read
    /// through windows of `window` bytes.
    fn streamed(
        input: &[u8],
        pieces: &[usize],
        (threads, min_chunk, window): (usize, usize, usize),
        purpose: Purpose,
    ) -> Result<ValidRows, ContractError> {
        let mut reader = RawReader::with_sizes(true, purpose, threads, min_chunk, window);
        let mut rest = input;
        for &n in pieces.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (piece, after) = rest.split_at(n.clamp(1, rest.len()));
            reader.push(piece)?;
            rest = after;
        }
        reader.finish()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        /// However the bytes arrive and whatever the window, streaming
        /// reads exactly what one pass over the whole file reads.
        #[test]
        fn any_arrival_streams_exactly_like_one_pass(
            bom in any::<bool>(),
            input in file(),
            pieces in prop::collection::vec(1usize..80, 1..8),
            threads in 1usize..4,
            min_chunk in 1usize..64,
            window in 1usize..400,
            process in any::<bool>(),
        ) {
            let input = if bom { [BOM, &input].concat() } else { input };
            let purpose = if process { Purpose::Process } else { Purpose::Promote };
            let one = read_chunked(&input, true, purpose, 1, usize::MAX);
            let streamed = streamed(&input, &pieces, (threads, min_chunk, window), purpose);
            match (one, streamed) {
                (Ok(a), Ok(b)) => prop_assert!(same(&a, &b), "{}", String::from_utf8_lossy(&input)),
                (Err(a), Err(b)) => prop_assert_eq!(a, b),
                (a, b) => prop_assert!(false, "one pass {:?} vs streamed {:?}", a.map(|r| r.rows), b.map(|r| r.rows)),
            }
        }
    }

    #[test]
    fn a_streamed_file_fails_at_its_header_before_the_rest_arrives() {
        let mut reader = RawReader::with_sizes(true, Purpose::Process, 2, 1, 8);
        let pushed = reader.push(b"event_id,quantity\nE1,2\n");
        assert!(
            matches!(pushed, Err(ContractError::MissingColumns { .. })),
            "{pushed:?}"
        );
    }

    #[test]
    fn an_empty_or_headerless_stream_is_what_one_pass_says() {
        for input in [&b""[..], b"\xEF\xBB", b"\r\n\n", HEADER.as_bytes()] {
            let one = read_chunked(input, true, Purpose::Promote, 1, usize::MAX).map(|r| r.rows);
            let streamed = streamed(input, &[1], (2, 1, 2), Purpose::Promote).map(|r| r.rows);
            assert_eq!(one, streamed, "{input:?}");
        }
    }

    #[test]
    fn a_file_is_split_into_one_slice_per_thread_at_line_starts() {
        let body: String = (0..400).map(|i| format!("{}\n", valid_row(i, i))).collect();
        let input = format!("{HEADER}\n{body}");
        let starts = slice_starts(input.as_bytes(), HEADER.len() + 1, 4, 1);
        assert_eq!(starts.len(), 4);
        assert!(
            starts
                .iter()
                .skip(1)
                .all(|&s| input.as_bytes()[s - 1] == b'\n')
        );
        let rows = read_chunked(input.as_bytes(), true, Purpose::Promote, 4, 1)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((rows.rows, rows.valid), (400, 400));
        assert!(rows.rejects.is_none());
    }

    #[test]
    fn a_quoted_newline_at_a_guessed_seam_is_reread_not_split() {
        // Every valid row's name holds a newline, so about half the guessed
        // seams fall inside a quoted field.
        let body: String = (0..300)
            .map(|i| valid_row(i, i).replace("Ann, B", "Ann\nB") + "\n")
            .collect();
        let input = format!("{HEADER}\n{body}");
        let one = read_chunked(input.as_bytes(), true, Purpose::Process, 1, usize::MAX)
            .unwrap_or_else(|e| panic!("{e}"));
        let many = read_chunked(input.as_bytes(), true, Purpose::Process, 6, 1)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((one.rows, one.valid), (300, 300));
        assert!(same(&one, &many));
    }
}

#[cfg(test)]
mod min_text_tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    /// Ids in the table, at its edge, and beyond it (the spill map).
    fn id() -> impl Strategy<Value = u32> {
        prop_oneof![
            200 => 0u32..64,
            1 => Just(TABLE_IDS as u32 - 1),
            1 => Just(TABLE_IDS as u32),
            1 => Just(u32::MAX),
        ]
    }

    fn text() -> impl Strategy<Value = String> {
        // Short (inline) and long (heap) texts, sharing prefixes.
        prop_oneof!["[ab]{0,3}", "[ab]{37,40}", Just("é".repeat(30)),]
    }

    proptest! {
        // An id near the table's end allocates the whole table (40 MB).
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// One by one, in batches of any size and merged from two halves,
        /// the texts kept are each id's smallest in byte order.
        #[test]
        fn each_id_keeps_its_smallest_text(pairs in prop::collection::vec((id(), text()), 0..60), cut in 0usize..60, batch in 1usize..40) {
            let mut model: BTreeMap<u32, String> = BTreeMap::new();
            for (id, t) in &pairs {
                let e = model.entry(*id).or_insert_with(|| t.clone());
                if t.as_bytes() < e.as_bytes() {
                    e.clone_from(t);
                }
            }
            let one = MinText::from_pairs(pairs.clone());
            let mut batched = MinText::default();
            for chunk in pairs.chunks(batch) {
                let mut b: Vec<(u32, Text)> = chunk.iter().map(|(id, t)| (*id, Text::new(t))).collect();
                batched.offer_batch(&mut b);
                prop_assert!(b.is_empty());
            }
            let cut = cut.min(pairs.len());
            let mut merged = MinText::from_pairs(pairs[..cut].to_vec());
            merged.merge(MinText::from_pairs(pairs[cut..].to_vec()));
            for m in [&one, &batched, &merged] {
                prop_assert_eq!(m.len(), model.len());
                let mut ids: Vec<u32> = m.ids().collect();
                ids.sort_unstable();
                prop_assert_eq!(&ids, &model.keys().copied().collect::<Vec<_>>());
                for (id, t) in &model {
                    prop_assert_eq!(m.get(*id), t.as_str());
                }
                prop_assert!(m == &one);
            }
            prop_assert_eq!(one.get(12_345), model.get(&12_345).map_or("", String::as_str));
        }
    }
}
