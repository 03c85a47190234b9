//! Parquet copies of a sweep's CSV results, for dataframe tools (pandas, polars, DuckDB, Arrow).
//! The CSV files stay the record a sweep appends to and resumes from; a finished shard's
//! `cells-<i>-of-<N>.csv` and the merged `cells.csv` can each be converted, into one row group
//! with the CSV's columns, rows sorted by cell index. A column's type is read off its values:
//! INT64 when every non-empty value is an integer, else DOUBLE when every one parses as a float
//! (the CSV writes floats in shortest round-trip form, so the doubles are the computed bits), else
//! a UTF-8 string; an empty CSV field is a null. The file is written to a temporary file and renamed,
//! and holds the same bytes for the same CSV rows.

use std::path::Path;
use std::sync::Arc;

use parquet::basic::{LogicalType, Repetition, Type as Physical};
use parquet::data_type::{ByteArray, ByteArrayType, DoubleType, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::Type;

use crate::error::{Error, Result};
use crate::io::write_atomic;

/// The fields of one CSV line: split at commas outside double quotes, quotes removed and `""`
/// read as `"` (the quoting of [`super::cell::row`]).
pub fn split_csv_line(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        let f = fields.last_mut().expect("one field at least");
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                f.push('"');
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(String::new()),
            _ => f.push(c),
        }
    }
    fields
}

/// The type of a column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Every non-empty value is an integer.
    Int,
    /// Every non-empty value is a float.
    Float,
    /// Anything else.
    Text,
}

/// The type of the values `col` (empty ones ignored).
pub fn kind<'a>(col: impl Iterator<Item = &'a str> + Clone) -> Kind {
    let mut values = col.filter(|v| !v.is_empty());
    if values.clone().all(|v| v.parse::<i64>().is_ok()) {
        Kind::Int
    } else if values.all(|v| v.parse::<f64>().is_ok()) {
        Kind::Float
    } else {
        Kind::Text
    }
}

/// Convert the CSV file `csv` (a header line, then rows whose first field is the cell index) into
/// the Parquet file `out`. Returns the number of rows.
pub fn csv_to_parquet(csv: &Path, out: &Path) -> Result<usize> {
    let text = std::fs::read_to_string(csv).map_err(|source| Error::Read {
        file: csv.to_path_buf(),
        source,
    })?;
    let mut lines = text.lines();
    let header = split_csv_line(
        lines
            .next()
            .ok_or_else(|| Error::invalid("header", "the file is empty").in_file(csv))?,
    );
    let mut rows: Vec<Vec<String>> = Vec::new();
    for (j, line) in lines.enumerate() {
        let fields = split_csv_line(line);
        if fields.len() != header.len() {
            return Err(Error::invalid(
                format!("line {}", j + 2),
                format!("{} fields, the header has {}", fields.len(), header.len()),
            )
            .in_file(csv));
        }
        rows.push(fields);
    }
    rows.sort_by_key(|r| r[0].parse::<u64>().unwrap_or(u64::MAX));
    let bytes = parquet_bytes(&header, &rows).map_err(|e| {
        Error::invalid("parquet", format!("cannot encode {}: {e}", csv.display())).in_file(out)
    })?;
    write_atomic(out, &bytes)?;
    Ok(rows.len())
}

/// The Parquet encoding of a table of CSV fields.
fn parquet_bytes(header: &[String], rows: &[Vec<String>]) -> parquet::errors::Result<Vec<u8>> {
    let column = |c: usize| rows.iter().map(move |r| r[c].as_str());
    let kinds: Vec<Kind> = (0..header.len()).map(|c| kind(column(c))).collect();
    let mut fields = Vec::with_capacity(header.len());
    for (name, k) in header.iter().zip(&kinds) {
        let (physical, logical) = match k {
            Kind::Int => (Physical::INT64, None),
            Kind::Float => (Physical::DOUBLE, None),
            Kind::Text => (Physical::BYTE_ARRAY, Some(LogicalType::String)),
        };
        fields.push(Arc::new(
            Type::primitive_type_builder(name, physical)
                .with_repetition(Repetition::OPTIONAL)
                .with_logical_type(logical)
                .build()?,
        ));
    }
    let schema = Arc::new(
        Type::group_type_builder("sweep")
            .with_fields(fields)
            .build()?,
    );
    let props = Arc::new(WriterProperties::builder().build());
    let mut buf = Vec::new();
    let mut writer = SerializedFileWriter::new(&mut buf, schema, props)?;
    let mut group = writer.next_row_group()?;
    let mut c = 0;
    while let Some(mut col) = group.next_column()? {
        let present: Vec<&str> = column(c).filter(|v| !v.is_empty()).collect();
        let levels: Vec<i16> = column(c).map(|v| i16::from(!v.is_empty())).collect();
        // The values were classified by parsing them, so these parses succeed.
        match kinds[c] {
            Kind::Int => {
                let v: Vec<i64> = present.iter().map(|s| s.parse().unwrap_or(0)).collect();
                col.typed::<Int64Type>()
                    .write_batch(&v, Some(&levels), None)?;
            }
            Kind::Float => {
                let v: Vec<f64> = present
                    .iter()
                    .map(|s| s.parse().unwrap_or(f64::NAN))
                    .collect();
                col.typed::<DoubleType>()
                    .write_batch(&v, Some(&levels), None)?;
            }
            Kind::Text => {
                let v: Vec<ByteArray> = present.iter().map(|s| ByteArray::from(*s)).collect();
                col.typed::<ByteArrayType>()
                    .write_batch(&v, Some(&levels), None)?;
            }
        }
        col.close()?;
        c += 1;
    }
    group.close()?;
    writer.close()?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use parquet::file::reader::{FileReader, SerializedFileReader};
    use parquet::record::Field;

    #[test]
    fn csv_fields_and_kinds() {
        assert_eq!(
            split_csv_line(r#"3,"a,b","say ""hi""",,1e-3"#),
            ["3", "a,b", r#"say "hi""#, "", "1e-3"]
        );
        assert_eq!(kind(["1", "", "-7"].into_iter()), Kind::Int);
        assert_eq!(kind(["1", "NaN", "0.5"].into_iter()), Kind::Float);
        assert_eq!(kind(["1", "sam"].into_iter()), Kind::Text);
    }

    /// A round trip: types, nulls, exact doubles, rows sorted by cell; bad files are typed errors.
    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let (csv, out) = (dir.path().join("c.csv"), dir.path().join("c.parquet"));
        let x = 0.1f64 + 0.2;
        std::fs::write(
            &csv,
            format!("cell,method,lr,diverged_at\n2,\"s,am\",{x:?},\n0,gd,NaN,17\n1,gd,1e-3,\n"),
        )
        .unwrap();
        assert_eq!(csv_to_parquet(&csv, &out).unwrap(), 3);
        let first = std::fs::read(&out).unwrap();
        let reader = SerializedFileReader::new(std::fs::File::open(&out).unwrap()).unwrap();
        let rows: Vec<Vec<Field>> = reader
            .get_row_iter(None)
            .unwrap()
            .map(|r| r.unwrap().into_columns().into_iter().map(|c| c.1).collect())
            .collect();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0][0], Field::Long(0));
        assert!(matches!(rows[0][2], Field::Double(v) if v.is_nan()));
        assert_eq!(rows[0][3], Field::Long(17));
        assert_eq!(rows[1][2], Field::Double(1e-3));
        assert_eq!(rows[1][3], Field::Null);
        assert_eq!(rows[2][1], Field::Str("s,am".into()));
        assert_eq!(rows[2][2], Field::Double(x));
        // The same rows in another order give the same bytes.
        std::fs::write(
            &csv,
            format!("cell,method,lr,diverged_at\n0,gd,NaN,17\n1,gd,1e-3,\n2,\"s,am\",{x:?},\n"),
        )
        .unwrap();
        csv_to_parquet(&csv, &out).unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), first);
        std::fs::write(&csv, "cell,lr\n0,1,2\n").unwrap();
        match csv_to_parquet(&csv, &out) {
            Err(Error::Invalid { field, .. }) => assert_eq!(field, "line 2"),
            other => panic!("{other:?}"),
        }
        std::fs::write(&csv, "").unwrap();
        assert!(matches!(
            csv_to_parquet(&csv, &out),
            Err(Error::Invalid { .. })
        ));
    }
}
