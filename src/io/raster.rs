//! Rasters through GDAL: warp any raster onto the analysis grid, rasterise
//! vectors onto it, and write tiled, DEFLATE-compressed GeoTIFFs.

use std::path::Path;

use gdal::raster::{GdalType, RasterCreationOptions, RasterizeOptions};
use gdal::vector::ToGdal;
use gdal::{Dataset, DriverManager};

use crate::error::{Error, Result};
use crate::grid::Grid;

/// How to resample onto the grid: bilinear for continuous layers, nearest
/// for classes and masks (SPEC "Analysis grid").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resample {
    Bilinear,
    Nearest,
    /// Sum of the source cells weighted by their overlap: for counts such as
    /// people per cell, so totals survive a change of cell size.
    Sum,
    /// Mean of the source cells weighted by their overlap: for shares
    /// (the fraction of finer forest cells in a grid cell).
    Average,
}

/// Facts about a source raster, for validation and summaries.
#[derive(Debug, Clone)]
pub struct RasterInfo {
    pub width: usize,
    pub height: usize,
    pub bands: usize,
    pub crs_name: String,
    pub has_crs: bool,
    pub nodata: Option<f64>,
}

fn open_raster(path: &Path) -> Result<Dataset> {
    open_raster_decoding_on(path, false)
}

/// `open_raster`, and with `every_core` GDAL decodes a GeoTIFF's
/// compressed blocks on every core when a read spans several (the values
/// are the same): for whole-raster reads. (Warps already run side by side
/// on every core: there it cost more than it gave.) The GeoTIFF driver
/// takes the setting when the file is opened, not when it is read.
fn open_raster_decoding_on(path: &Path, every_core: bool) -> Result<Dataset> {
    super::init_gdal();
    if let Some(why) = super::unreadable(path) {
        return Err(Error::raster(path, why));
    }
    if every_core {
        let _ = gdal::config::set_thread_local_config_option("GDAL_NUM_THREADS", "ALL_CPUS");
    }
    let ds = Dataset::open_ex(
        path,
        gdal::DatasetOptions {
            open_flags: gdal::GdalOpenFlags::GDAL_OF_RASTER | gdal::GdalOpenFlags::GDAL_OF_READONLY,
            ..Default::default()
        },
    );
    if every_core {
        let _ = gdal::config::clear_thread_local_config_option("GDAL_NUM_THREADS");
    }
    ds.map_err(|e| Error::raster(path, format!("not a raster format GDAL reads ({e})")))
}

pub fn info(path: &Path) -> Result<RasterInfo> {
    let ds = open_raster(path)?;
    let (width, height) = ds.raster_size();
    let srs = ds.spatial_ref().ok();
    let nodata = ds.rasterband(1).ok().and_then(|b| b.no_data_value());
    Ok(RasterInfo {
        width,
        height,
        bands: ds.raster_count(),
        crs_name: srs.as_ref().and_then(|s| s.name()).unwrap_or_default(),
        has_crs: srs.is_some() && !ds.projection().is_empty(),
        nodata,
    })
}

fn mem_at<T: GdalType>(at: &Placement) -> Result<Dataset> {
    let drv = DriverManager::get_driver_by_name("MEM")
        .map_err(|e| Error::output("MEM", format!("GDAL has no MEM driver: {e}")))?;
    let mut ds = drv
        .create_with_band_type::<T, _>("", at.width, at.height, 1)
        .map_err(|e| Error::output("MEM", e))?;
    ds.set_geo_transform(&at.geo_transform)
        .map_err(|e| Error::output("MEM", e))?;
    ds.set_projection(&at.wkt)
        .map_err(|e| Error::output("MEM", e))?;
    Ok(ds)
}

/// Warp band `band` of the raster at `path` onto `grid` (whose CRS is given
/// as WKT). Cells the source does not cover, and source nodata, become NaN.
pub fn warp_to_grid(
    path: &Path,
    band: usize,
    grid: &Grid,
    grid_wkt: &str,
    resample: Resample,
) -> Result<Vec<f32>> {
    warp(path, band, &Placement::of_grid(grid, grid_wkt), resample)
}

/// Warp band `band` of the raster at `path` onto any placement.
pub fn warp(path: &Path, band: usize, at: &Placement, resample: Resample) -> Result<Vec<f32>> {
    let src = open_raster(path)?;
    warp_dataset(&src, path, band, at, resample)
}

/// The share of each grid cell's area covered by source cells whose code
/// is one of `classes` (cells of the source's nodata count for neither:
/// the share is of the cells with data). NaN where the source has no data.
pub fn warp_share(
    path: &Path,
    band: usize,
    grid: &Grid,
    grid_wkt: &str,
    classes: &[i32],
) -> Result<Vec<f32>> {
    let (native, codes, nodata) = read_native_as::<f64>(path, band)?;
    if native.wkt.is_empty() {
        return Err(Error::raster(
            path,
            "the raster has no CRS; assign one (e.g. gdal_edit.py -a_srs EPSG:4326)",
        ));
    }
    let share: Vec<f32> = codes
        .iter()
        .map(|&c| {
            if c.is_nan() || nodata.is_some_and(|nd| c == nd) {
                f32::NAN
            } else {
                classes.contains(&(c as i32)) as u8 as f32
            }
        })
        .collect();
    let mem = mem_at::<f32>(&native)?;
    {
        let mut b = mem.rasterband(1).map_err(|e| Error::output("MEM", e))?;
        b.set_no_data_value(Some(f64::NAN))
            .map_err(|e| Error::output("MEM", e))?;
        let mut buf = gdal::raster::Buffer::new((native.width, native.height), share);
        b.write((0, 0), (native.width, native.height), &mut buf)
            .map_err(|e| Error::output("MEM", e))?;
    }
    warp_dataset(
        &mem,
        path,
        1,
        &Placement::of_grid(grid, grid_wkt),
        Resample::Average,
    )
}

fn warp_dataset(
    src: &Dataset,
    path: &Path,
    band: usize,
    at: &Placement,
    resample: Resample,
) -> Result<Vec<f32>> {
    if band == 0 || band > src.raster_count() {
        return Err(Error::raster(
            path,
            format!(
                "band {band} asked for, but the raster has {} band(s)",
                src.raster_count()
            ),
        ));
    }
    if src.projection().is_empty() {
        return Err(Error::raster(
            path,
            "the raster has no CRS; assign one (e.g. gdal_edit.py -a_srs EPSG:4326)",
        ));
    }
    let src_nodata = src.rasterband(band).ok().and_then(|b| b.no_data_value());
    let dst = mem_at::<f32>(at)?;
    {
        let mut b = dst.rasterband(1).map_err(|e| Error::output("MEM", e))?;
        b.set_no_data_value(Some(f64::NAN))
            .map_err(|e| Error::output("MEM", e))?;
        b.fill(f64::NAN, None)
            .map_err(|e| Error::output("MEM", e))?;
    }

    // SAFETY: the standard GDAL warp recipe (gdalwarper.h). Every pointer
    // handed to GDAL is either owned by GDAL (options, transformer, bands
    // arrays allocated with CPLMalloc and freed by GDALDestroyWarpOptions)
    // or outlives the calls (the two datasets).
    let rc = unsafe {
        use gdal_sys::*;
        let opts = GDALCreateWarpOptions();
        (*opts).hSrcDS = src.c_dataset();
        (*opts).hDstDS = dst.c_dataset();
        (*opts).nBandCount = 1;
        (*opts).panSrcBands = CPLMalloc(std::mem::size_of::<i32>()) as *mut i32;
        *(*opts).panSrcBands = band as i32;
        (*opts).panDstBands = CPLMalloc(std::mem::size_of::<i32>()) as *mut i32;
        *(*opts).panDstBands = 1;
        (*opts).eResampleAlg = match resample {
            Resample::Bilinear => GDALResampleAlg::GRA_Bilinear,
            Resample::Nearest => GDALResampleAlg::GRA_NearestNeighbour,
            Resample::Sum => GDALResampleAlg::GRA_Sum,
            Resample::Average => GDALResampleAlg::GRA_Average,
        };
        (*opts).eWorkingDataType = GDALDataType::GDT_Float64;
        if let Some(nd) = src_nodata {
            (*opts).padfSrcNoDataReal = CPLMalloc(std::mem::size_of::<f64>()) as *mut f64;
            *(*opts).padfSrcNoDataReal = nd;
        }
        (*opts).padfDstNoDataReal = CPLMalloc(std::mem::size_of::<f64>()) as *mut f64;
        *(*opts).padfDstNoDataReal = f64::NAN;
        for (k, v) in [("INIT_DEST", "NO_DATA"), ("NUM_THREADS", "ALL_CPUS")] {
            let k = std::ffi::CString::new(k).unwrap();
            let v = std::ffi::CString::new(v).unwrap();
            (*opts).papszWarpOptions =
                CSLSetNameValue((*opts).papszWarpOptions, k.as_ptr(), v.as_ptr());
        }
        // The whole grid in one chunk where it fits in 512 MB (GDAL's
        // default of 64 MB cuts a 30 m landscape into many small warps).
        (*opts).dfWarpMemoryLimit = 512.0 * 1024.0 * 1024.0;
        let tr = GDALCreateGenImgProjTransformer2(
            src.c_dataset(),
            dst.c_dataset(),
            std::ptr::null_mut(),
        );
        if tr.is_null() {
            GDALDestroyWarpOptions(opts);
            return Err(Error::raster(
                path,
                format!(
                    "GDAL cannot transform it to the grid CRS: {}",
                    last_gdal_message()
                ),
            ));
        }
        // The exact transformation for every cell (gdalwarp's default
        // approximation within 0.125 of a cell would save a third of a 30 m
        // landscape's warping time but move cells of reprojected inputs).
        (*opts).pTransformerArg = tr;
        (*opts).pfnTransformer = Some(GDALGenImgProjTransform);
        let op = GDALCreateWarpOperation(opts);
        let rc = if op.is_null() {
            CPLErr::CE_Failure
        } else {
            let rc = GDALChunkAndWarpImage(op, 0, 0, at.width as i32, at.height as i32);
            GDALDestroyWarpOperation(op);
            rc
        };
        GDALDestroyGenImgProjTransformer(tr);
        (*opts).pTransformerArg = std::ptr::null_mut();
        GDALDestroyWarpOptions(opts);
        rc
    };
    if rc != gdal_sys::CPLErr::CE_None {
        return Err(Error::raster(
            path,
            format!("warping onto the grid failed: {}", last_gdal_message()),
        ));
    }
    let b = dst.rasterband(1).map_err(|e| Error::output("MEM", e))?;
    let buf = b
        .read_as::<f32>((0, 0), (at.width, at.height), (at.width, at.height), None)
        .map_err(|e| Error::output("MEM", e))?;
    Ok(buf.into_shape_and_vec().1)
}

/// Burn polygons (or lines) onto the grid: cell = value of the last geometry
/// whose area holds the cell centre (GDAL's default rule), else `background`.
/// With `all_touched`, every cell the geometry touches is burnt.
pub fn rasterize(
    grid: &Grid,
    grid_wkt: &str,
    geoms: &[geo::Geometry<f64>],
    values: &[f64],
    background: f32,
    all_touched: bool,
) -> Result<Vec<f32>> {
    rasterize_at(
        &Placement::of_grid(grid, grid_wkt),
        geoms,
        values,
        background,
        all_touched,
    )
}

/// `rasterize` onto any placement.
pub fn rasterize_at(
    at: &Placement,
    geoms: &[geo::Geometry<f64>],
    values: &[f64],
    background: f32,
    all_touched: bool,
) -> Result<Vec<f32>> {
    let mut ds = mem_at::<f32>(at)?;
    {
        let mut b = ds.rasterband(1).map_err(|e| Error::output("MEM", e))?;
        b.fill(background as f64, None)
            .map_err(|e| Error::output("MEM", e))?;
    }
    let mut gg = Vec::with_capacity(geoms.len());
    let mut vv = Vec::with_capacity(geoms.len());
    for (g, v) in geoms.iter().zip(values) {
        match g.to_gdal() {
            Ok(x) => {
                gg.push(x);
                vv.push(*v);
            }
            Err(e) => return Err(Error::output("rasterize", e)),
        }
    }
    if !gg.is_empty() {
        let opts = RasterizeOptions {
            all_touched,
            ..Default::default()
        };
        gdal::raster::rasterize(&mut ds, &[1], &gg, &vv, Some(opts))
            .map_err(|e| Error::output("rasterize", e))?;
    }
    let b = ds.rasterband(1).map_err(|e| Error::output("MEM", e))?;
    let buf = b
        .read_as::<f32>((0, 0), (at.width, at.height), (at.width, at.height), None)
        .map_err(|e| Error::output("MEM", e))?;
    Ok(buf.into_shape_and_vec().1)
}

/// Where a raster sits: geotransform, CRS (WKT) and size.
#[derive(Debug, Clone)]
pub struct Placement {
    pub geo_transform: [f64; 6],
    pub wkt: String,
    pub width: usize,
    pub height: usize,
}

impl Placement {
    pub fn of_grid(grid: &Grid, wkt: &str) -> Placement {
        Placement {
            geo_transform: grid.geo_transform(),
            wkt: wkt.to_string(),
            width: grid.width,
            height: grid.height,
        }
    }
}

/// Write one band as a Cloud-Optimized GeoTIFF (tiled, DEFLATE, with
/// overviews; GDAL's COG driver) with CRS, nodata and description. The
/// band is first written as a tiled GeoTIFF in memory, then copied by the
/// COG driver (in memory too), which builds the overviews (average for
/// floating-point data, nearest for integer codes and masks) and orders the
/// file for streaming; Rust writes the result to `path`.
pub fn write_geotiff<T: GdalType + Copy>(
    path: &Path,
    at: &Placement,
    data: &[T],
    nodata: Option<f64>,
    description: &str,
) -> Result<()> {
    super::init_gdal();
    // Made in memory, then written out by Rust (see `space::via_memory`):
    // no GDAL or libtiff write ever meets a full disk.
    super::space::via_memory(path, |mem| {
        let tmp = mem.with_file_name("tiled.tif");
        write_tiled(&tmp, at, data, nodata, description)
            .map_err(|e| Error::output(path, format!("in memory: {e}")))?;
        let is_float = matches!(
            T::datatype(),
            gdal::raster::GdalDataType::Float32 | gdal::raster::GdalDataType::Float64
        );
        // DEFLATE level 6 (GDAL's default) for ordinary rasters; level 1
        // from 4 M cells, where it writes about 2.5x faster for ~10%
        // larger files.
        let level = if at.width * at.height >= 4_000_000 {
            "1"
        } else {
            "6"
        };
        let opts = RasterCreationOptions::from_iter([
            "COMPRESS=DEFLATE",
            "PREDICTOR=YES",
            &format!("LEVEL={level}"),
            "BLOCKSIZE=256",
            "OVERVIEWS=AUTO",
            if is_float {
                "RESAMPLING=AVERAGE"
            } else {
                "RESAMPLING=NEAREST"
            },
            "NUM_THREADS=ALL_CPUS",
        ]);
        let drv = DriverManager::get_driver_by_name("COG").map_err(|e| Error::output(path, e))?;
        let src = Dataset::open(&tmp).map_err(|e| Error::output(path, e))?;
        // (The COG driver builds its overviews in a temporary file in
        // CPL_TMPDIR: the same folder in memory.) A Float32 or Float64
        // raster's overviews come with it (`write_tiled`) and are copied
        // as they are. Those the driver would build go through an
        // uncompressed temporary, a third less time to write. (An 8-bit or
        // integer raster's 4x and 8x overviews would come out sampled at
        // other, equally near cells that way, so those keep GDAL's default.)
        if is_float {
            let _ = gdal::config::set_thread_local_config_option("COG_TMP_COMPRESSION", "NONE");
        }
        let copied = src
            .create_copy(&drv, mem, &opts)
            .map_err(|e| Error::output(path, e))
            .and_then(|mut out| {
                out.flush_cache().map_err(|e| Error::output(path, e))?;
                out.close().map_err(|e| Error::output(path, e))
            });
        let _ = gdal::config::clear_thread_local_config_option("COG_TMP_COMPRESSION");
        drop(src);
        copied.map(|_| ())
    })
}

/// Write one band as an uncompressed tiled GeoTIFF: the temporary the COG
/// driver copies (compressing it would only be undone).
pub(crate) fn write_tiled<T: GdalType + Copy>(
    path: &Path,
    at: &Placement,
    data: &[T],
    nodata: Option<f64>,
    description: &str,
) -> Result<()> {
    if data.len() != at.width * at.height {
        return Err(Error::output(
            path,
            format!(
                "internal: {} values for a {}x{} raster",
                data.len(),
                at.width,
                at.height
            ),
        ));
    }
    let drv = DriverManager::get_driver_by_name("GTiff").map_err(|e| Error::output(path, e))?;
    let opts = RasterCreationOptions::from_iter([
        "TILED=YES",
        "BLOCKXSIZE=256",
        "BLOCKYSIZE=256",
        "COMPRESS=NONE",
    ]);
    let mut ds = drv
        .create_with_band_type_with_options::<T, _>(path, at.width, at.height, 1, &opts)
        .map_err(|e| Error::output(path, e))?;
    ds.set_geo_transform(&at.geo_transform)
        .map_err(|e| Error::output(path, e))?;
    ds.set_projection(&at.wkt)
        .map_err(|e| Error::output(path, e))?;
    {
        let mut band = ds.rasterband(1).map_err(|e| Error::output(path, e))?;
        if nodata.is_some() {
            band.set_no_data_value(nodata)
                .map_err(|e| Error::output(path, e))?;
        }
        if !description.is_empty() {
            use gdal::Metadata;
            band.set_description(description)
                .map_err(|e| Error::output(path, e))?;
        }
        // Strips of one tile row: no full copy of the data.
        for r0 in (0..at.height).step_by(256) {
            let rows = 256.min(at.height - r0);
            let strip = data[r0 * at.width..(r0 + rows) * at.width].to_vec();
            let mut buf = gdal::raster::Buffer::new((at.width, rows), strip);
            band.write((0, r0 as isize), (at.width, rows), &mut buf)
                .map_err(|e| Error::output(path, e))?;
        }
    }
    match T::datatype() {
        gdal::raster::GdalDataType::Float32 => {
            // SAFETY: GDAL's Float32 type is f32 and no other Rust type (the
            // `GdalType` impls), so `data` is a slice of f32.
            let data32 =
                unsafe { std::slice::from_raw_parts(data.as_ptr() as *const f32, data.len()) };
            let gap = nodata.map(|v| v as f32).filter(|v| !v.is_nan());
            write_average_overviews(&mut ds, at.width, at.height, data32, gap)
                .map_err(|e| Error::output(path, e))?;
        }
        gdal::raster::GdalDataType::Float64 => {
            // SAFETY: likewise, GDAL's Float64 type is f64 alone.
            let data64 =
                unsafe { std::slice::from_raw_parts(data.as_ptr() as *const f64, data.len()) };
            let gap = nodata.filter(|v| !v.is_nan());
            write_average_overviews(&mut ds, at.width, at.height, data64, gap)
                .map_err(|e| Error::output(path, e))?;
        }
        _ => {}
    }
    ds.flush_cache().map_err(|e| Error::output(path, e))?;
    ds.close().map_err(|e| Error::output(path, e))?;
    Ok(())
}

/// The overview factors the COG driver makes by itself: halving until a
/// level fits in one 256-cell block.
fn overview_factors(width: usize, height: usize) -> Vec<i32> {
    let mut out = Vec::new();
    let mut f = 1usize;
    while width.div_ceil(f) > 256 || height.div_ceil(f) > 256 {
        f *= 2;
        out.push(f as i32);
    }
    out
}

/// One overview level of a float raster, half as wide and high (rounded
/// up), as GDAL's AVERAGE makes it: an overview cell covers the same
/// share of the raster as on the map, `w / ceil(w/2)` cells of the level
/// above across (2, or a little less when `w` is odd), and is the mean of
/// the cells it covers that hold a value, each weighed by the part of it
/// covered; NaN where none does. Summed in f64 in row order, on every
/// core. A gap is NaN, or `nodata` where the raster has one (and then
/// what a cell with nothing under it holds).
pub fn halve_average<T: FloatCell + PartialEq>(
    src: &[T],
    w: usize,
    h: usize,
    nodata: Option<T>,
) -> (Vec<T>, usize, usize) {
    use rayon::prelude::*;
    let (ow, oh) = (w.div_ceil(2), h.div_ceil(2));
    // The source cells under overview cell k of n over m cells, with the
    // part of each covered.
    let spans = |n: usize, m: usize| -> Vec<Vec<(usize, f64)>> {
        let ratio = m as f64 / n as f64;
        (0..n)
            .map(|k| {
                let (a, b) = (k as f64 * ratio, (k + 1) as f64 * ratio);
                let (first, last) = (a.floor() as usize, (b.ceil() as usize).min(m));
                (first..last)
                    .map(|j| (j, b.min(j as f64 + 1.0) - a.max(j as f64)))
                    .filter(|(_, wt)| *wt > 0.0)
                    .collect()
            })
            .collect()
    };
    let (cols, rows) = (spans(ow, w), spans(oh, h));
    let is_gap = |v: T| v.is_nan() || Some(v) == nodata;
    let mut out = vec![nodata.unwrap_or(T::NAN); ow * oh];
    out.par_chunks_mut(ow).enumerate().for_each(|(r, row)| {
        for (o, col) in row.iter_mut().zip(&cols) {
            let (mut sum, mut weight) = (0f64, 0f64);
            for &(sr, wr) in &rows[r] {
                for &(sc, wc) in col {
                    let v = src[sr * w + sc];
                    if !is_gap(v) {
                        sum += v.to_f64() * wr * wc;
                        weight += wr * wc;
                    }
                }
            }
            if weight > 0.0 {
                *o = T::from_f64(sum / weight);
            }
        }
    });
    (out, ow, oh)
}

/// Give a float raster being written the overviews the COG driver would
/// build (`overview_factors`), averaged here on every core (`halve_average`,
/// each level from the one above) instead of by GDAL on one: the driver
/// then copies them as they are.
fn write_average_overviews<T: FloatCell + PartialEq>(
    ds: &mut Dataset,
    width: usize,
    height: usize,
    data: &[T],
    nodata: Option<T>,
) -> std::result::Result<(), String> {
    let factors = overview_factors(width, height);
    if factors.is_empty() {
        return Ok(());
    }
    // Empty levels ("NONE": made, not computed), then filled.
    ds.build_overviews("NONE", &factors, &[])
        .map_err(|e| format!("making overviews: {e}"))?;
    let band = ds.rasterband(1).map_err(|e| e.to_string())?;
    let mut level: std::borrow::Cow<[T]> = std::borrow::Cow::Borrowed(data);
    let (mut w, mut h) = (width, height);
    for k in 0..factors.len() {
        let (next, ow, oh) = halve_average(&level, w, h, nodata);
        let mut ov = band.overview(k).map_err(|e| format!("overview {k}: {e}"))?;
        if ov.size() != (ow, oh) {
            return Err(format!(
                "internal: overview {k} is {:?}, expected {ow}x{oh}",
                ov.size()
            ));
        }
        let mut buf = gdal::raster::Buffer::new((ow, oh), next);
        ov.write((0, 0), (ow, oh), &mut buf)
            .map_err(|e| format!("writing overview {k}: {e}"))?;
        level = std::borrow::Cow::Owned(buf.into_shape_and_vec().1);
        (w, h) = (ow, oh);
    }
    Ok(())
}

/// Read band 1 of a raster as it is (no warping), with its placement.
pub fn read_native(path: &Path, band: usize) -> Result<(Placement, Vec<f64>, Option<f64>)> {
    read_native_as::<f64>(path, band)
}

/// `read_native` into any cell type (GDAL converts while reading).
pub fn read_native_as<T: Copy + GdalType>(
    path: &Path,
    band: usize,
) -> Result<(Placement, Vec<T>, Option<f64>)> {
    let ds = open_raster_decoding_on(path, true)?;
    let (w, h) = ds.raster_size();
    let gt = ds
        .geo_transform()
        .map_err(|e| Error::raster(path, format!("no geotransform: {e}")))?;
    let b = ds
        .rasterband(band)
        .map_err(|e| Error::raster(path, format!("no band {band}: {e}")))?;
    let nodata = b.no_data_value();
    let buf = b.read_as::<T>((0, 0), (w, h), (w, h), None);
    let buf = buf.map_err(|e| Error::raster(path, e))?;
    Ok((
        Placement {
            geo_transform: gt,
            wkt: ds.projection(),
            width: w,
            height: h,
        },
        buf.into_shape_and_vec().1,
        nodata,
    ))
}

/// A floating-point cell type bands are read into.
pub trait FloatCell: GdalType + Copy + Send + Sync {
    const NAN: Self;
    fn to_f64(self) -> f64;
    fn from_f64(v: f64) -> Self;
    fn is_nan(self) -> bool;
}

impl FloatCell for f32 {
    const NAN: Self = f32::NAN;
    fn to_f64(self) -> f64 {
        self as f64
    }
    fn from_f64(v: f64) -> Self {
        v as f32
    }
    fn is_nan(self) -> bool {
        f32::is_nan(self)
    }
}

impl FloatCell for f64 {
    const NAN: Self = f64::NAN;
    fn to_f64(self) -> f64 {
        self
    }
    fn from_f64(v: f64) -> Self {
        v
    }
    fn is_nan(self) -> bool {
        f64::is_nan(self)
    }
}

/// Whether band `band` of a raster reads into f32 without losing a digit:
/// a type f32 holds exactly (Byte, UInt16, Int16, Float32) and no
/// scale or offset to apply. Then `read_band_as::<f32>` gives the bits
/// `read_band_f64` would, in half the memory.
pub fn band_fits_f32(path: &Path, band: usize) -> Result<bool> {
    use gdal::raster::GdalDataType as T;
    let ds = open_raster_decoding_on(path, false)?;
    let b = ds
        .rasterband(band)
        .map_err(|e| Error::raster(path, format!("no band {band}: {e}")))?;
    let exact = matches!(b.band_type(), T::UInt8 | T::UInt16 | T::Int16 | T::Float32);
    Ok(exact && b.scale().unwrap_or(1.0) == 1.0 && b.offset().unwrap_or(0.0) == 0.0)
}

/// Band `band` of a raster at its native precision (f64 holds every
/// integer up to 2^53 and every Float64 exactly), with the cells GDAL says
/// hold no data as NaN: its nodata value (compared in the band's own type,
/// so a Float32 nodata read back widened still matches), and its mask band
/// when it has one of its own (a per-dataset mask, a `.msk` file, an alpha
/// band: a 0 in it is no data); then unpacked, `value × scale + offset`,
/// when the band declares a scale or offset.
pub fn read_band_f64(path: &Path, band: usize) -> Result<(Placement, Vec<f64>)> {
    read_band_as::<f64>(path, band)
}

/// `read_band_f64` into `T` (f32 only where `band_fits_f32` says so, or
/// digits are lost).
pub fn read_band_as<T: FloatCell>(path: &Path, band: usize) -> Result<(Placement, Vec<T>)> {
    use rayon::prelude::*;
    let ds = open_raster_decoding_on(path, true)?;
    let (w, h) = ds.raster_size();
    let gt = ds
        .geo_transform()
        .map_err(|e| Error::raster(path, format!("no geotransform: {e}")))?;
    let b = ds
        .rasterband(band)
        .map_err(|e| Error::raster(path, format!("no band {band}: {e}")))?;
    let mut vals = b
        .read_as::<T>((0, 0), (w, h), (w, h), None)
        .map_err(|e| Error::raster(path, e))?
        .into_shape_and_vec()
        .1;
    const CHUNK: usize = 1 << 16;
    if let Some(nd) = b.no_data_value() {
        let float32 = b.band_type() == gdal::raster::GdalDataType::Float32;
        vals.par_chunks_mut(CHUNK).for_each(|c| {
            for v in c.iter_mut() {
                let x = v.to_f64();
                let hit = if float32 {
                    (x as f32) == (nd as f32) || (x.is_nan() && nd.is_nan())
                } else {
                    x == nd || (x.is_nan() && nd.is_nan())
                };
                if hit {
                    *v = T::NAN;
                }
            }
        });
    }
    let flags = b.mask_flags().map_err(|e| Error::raster(path, e))?;
    if !flags.is_all_valid() && !flags.is_nodata() {
        let m = b
            .open_mask_band()
            .map_err(|e| Error::raster(path, format!("its mask band: {e}")))?;
        let mask = m
            .read_as::<u8>((0, 0), (w, h), (w, h), None)
            .map_err(|e| Error::raster(path, format!("its mask band: {e}")))?
            .into_shape_and_vec()
            .1;
        vals.par_chunks_mut(CHUNK)
            .zip(mask.par_chunks(CHUNK))
            .for_each(|(c, m)| {
                for (v, k) in c.iter_mut().zip(m) {
                    if *k == 0 {
                        *v = T::NAN;
                    }
                }
            });
    }
    let (scale, offset) = (b.scale().unwrap_or(1.0), b.offset().unwrap_or(0.0));
    if scale != 1.0 || offset != 0.0 {
        vals.par_chunks_mut(CHUNK).for_each(|c| {
            for v in c.iter_mut() {
                *v = T::from_f64(v.to_f64() * scale + offset);
            }
        });
    }
    Ok((
        Placement {
            geo_transform: gt,
            wkt: ds.projection(),
            width: w,
            height: h,
        },
        vals,
    ))
}

fn last_gdal_message() -> String {
    // SAFETY: see io::vector::gdal_last_message.
    unsafe {
        let p = gdal_sys::CPLGetLastErrorMsg();
        if p.is_null() {
            return String::new();
        }
        std::ffi::CStr::from_ptr(p).to_string_lossy().into_owned()
    }
}

/// A shaded-relief picture of `dem` (on `at`, NaN where unknown) as a
/// grey PNG of `width` x `height` pixels: GDAL's multidirectional
/// hillshade (the QGIS project's terrain layer draws the same), averaged
/// down to the picture's size and laid at `opacity` over white, as the
/// layer at that opacity over an empty map. Cells without elevation are
/// white.
pub fn hillshade_png(
    at: &Placement,
    dem: &[f32],
    width: usize,
    height: usize,
    opacity: f64,
) -> Result<Vec<u8>> {
    use gdal::raster::processing::dem::{hillshade, HillshadeOptions, ShadingMode};
    super::init_gdal();
    let fail = |m: String| Error::output("hillshade", m);
    const NO_ELEVATION: f64 = -32768.0;
    let src = mem_at::<f32>(at)?;
    {
        let mut b = src.rasterband(1).map_err(|e| fail(e.to_string()))?;
        b.set_no_data_value(Some(NO_ELEVATION))
            .map_err(|e| fail(e.to_string()))?;
        let data: Vec<f32> = dem
            .iter()
            .map(|v| if v.is_nan() { NO_ELEVATION as f32 } else { *v })
            .collect();
        let mut buf = gdal::raster::Buffer::new((at.width, at.height), data);
        b.write((0, 0), (at.width, at.height), &mut buf)
            .map_err(|e| fail(e.to_string()))?;
    }
    let mut opts = HillshadeOptions::new();
    opts.with_output_format("MEM")
        .with_compute_edges(true)
        .with_shading_mode(ShadingMode::Multidirectional);
    let shaded = hillshade(&src, Path::new(""), &opts)
        .map_err(|e| fail(format!("GDAL's hillshade failed: {e}")))?;
    let b = shaded.rasterband(1).map_err(|e| fail(e.to_string()))?;
    // (the hillshade's no data, 0, left out of each pixel's average)
    let grey = b
        .read_as::<u8>(
            (0, 0),
            (at.width, at.height),
            (width, height),
            Some(gdal::raster::ResampleAlg::Average),
        )
        .map_err(|e| fail(e.to_string()))?;
    let picture: Vec<u8> = grey
        .data()
        .iter()
        .map(|&v| {
            if v == 0 {
                255
            } else {
                (255.0 - opacity * (255.0 - v as f64)).round() as u8
            }
        })
        .collect();
    let drv = DriverManager::get_driver_by_name("MEM").map_err(|e| fail(e.to_string()))?;
    let img = drv
        .create_with_band_type::<u8, _>("", width, height, 1)
        .map_err(|e| fail(e.to_string()))?;
    {
        let mut b = img.rasterband(1).map_err(|e| fail(e.to_string()))?;
        let mut buf = gdal::raster::Buffer::new((width, height), picture);
        b.write((0, 0), (width, height), &mut buf)
            .map_err(|e| fail(e.to_string()))?;
    }
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let png = format!(
        "/vsimem/greenhalo-terrain-{}-{}.png",
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    let png_drv = DriverManager::get_driver_by_name("PNG").map_err(|e| fail(e.to_string()))?;
    let made = img
        .create_copy(&png_drv, &png, &RasterCreationOptions::new())
        .map_err(|e| fail(format!("cannot encode the PNG: {e}")))
        .and_then(|mut d| d.flush_cache().map_err(|e| fail(e.to_string())));
    let bytes = made.and_then(|_| {
        gdal::vsi::get_vsi_mem_file_bytes_owned(&png).map_err(|e| fail(e.to_string()))
    });
    let _ = gdal::vsi::unlink_mem_file(&png);
    // (PNG's auxiliary .aux.xml, when GDAL wrote one)
    let _ = gdal::vsi::unlink_mem_file(format!("{png}.aux.xml"));
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overview_cells_weigh_the_parts_they_cover() {
        // Values from `gdaladdo -r average` (GDAL 3.6) on a 1x5 row: three
        // cells of 5/3 each, the first over cell 0 and 2/3 of cell 1.
        let (v, w, h) = halve_average(&[1.0f32, 2.0, 4.0, 8.0, 16.0], 5, 1, None);
        assert_eq!((w, h), (3, 1));
        let want = [1.4, 4.4, 12.8];
        for (a, b) in v.iter().zip(want) {
            assert!((*a as f64 - b).abs() < 1e-6, "{v:?}");
        }
        // 1x3 -> two cells of 1.5: (1 + 2/2) / 1.5 and (2/2 + 4) / 1.5.
        let (v, _, _) = halve_average(&[1.0f32, 2.0, 4.0], 3, 1, None);
        assert!((v[0] - 4.0 / 3.0).abs() < 1e-6 && (v[1] - 10.0 / 3.0).abs() < 1e-6);
        // Even sizes: plain 2x2 means; a gap is left out of its block's
        // mean, a block of gaps stays a gap.
        let nan = f32::NAN;
        #[rustfmt::skip]
        let src = [
            1.0, 3.0, nan, nan,
            5.0, 7.0, nan, nan,
            2.0, nan, 8.0, 8.0,
            4.0, nan, 8.0, 9.0,
        ];
        let (v, w, h) = halve_average(&src, 4, 4, None);
        assert_eq!((w, h), (2, 2));
        assert_eq!(v[0], 4.0);
        assert!(v[1].is_nan());
        assert_eq!(v[2], 3.0);
        assert_eq!(v[3], 8.25);
        // A numeric nodata value is a gap too, and fills an empty cell.
        let src: Vec<f32> = src
            .iter()
            .map(|v| if v.is_nan() { -9999.0 } else { *v })
            .collect();
        let (v, _, _) = halve_average(&src, 4, 4, Some(-9999.0));
        assert_eq!(v, vec![4.0, -9999.0, 3.0, 8.25]);
        // Float64 the same way, its means kept in f64: (1 + 2/2) / 1.5
        // to the last bit, where f32 rounds it.
        let (v, _, _) = halve_average(&[1.0f64, 2.0, 4.0], 3, 1, None);
        assert_eq!(v, vec![2.0 / 1.5, 5.0 / 1.5]);
        let src64: Vec<f64> = src.iter().map(|v| *v as f64).collect();
        let (v, _, _) = halve_average(&src64, 4, 4, Some(-9999.0));
        assert_eq!(v, vec![4.0, -9999.0, 3.0, 8.25]);
    }

    #[test]
    fn overview_factors_halve_until_one_block() {
        assert_eq!(overview_factors(4000, 4000), vec![2, 4, 8, 16]);
        assert_eq!(overview_factors(3798, 3701), vec![2, 4, 8, 16]);
        assert_eq!(overview_factors(1140, 1111), vec![2, 4, 8]);
        assert_eq!(overview_factors(256, 256), Vec::<i32>::new());
        assert_eq!(overview_factors(257, 10), vec![2]);
    }
}
