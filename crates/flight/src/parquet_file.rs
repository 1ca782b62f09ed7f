//! Parquet files of the datasets' schemas (the CLI's `--format parquet`): snappy-compressed
//! (pure Rust), written in memory and handed over whole, so any `Write` can take them.

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

/// A Parquet file being written.
pub struct ParquetFile {
    writer: ArrowWriter<Vec<u8>>,
    rows: u64,
}

impl ParquetFile {
    pub fn new(schema: SchemaRef) -> anyhow::Result<Self> {
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .build();
        Ok(Self {
            writer: ArrowWriter::try_new(Vec::new(), schema, Some(props))?,
            rows: 0,
        })
    }

    pub fn write(&mut self, batch: &RecordBatch) -> anyhow::Result<()> {
        self.rows += batch.num_rows() as u64;
        Ok(self.writer.write(batch)?)
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// The file's bytes.
    pub fn finish(self) -> anyhow::Result<Vec<u8>> {
        Ok(self.writer.into_inner()?)
    }
}
