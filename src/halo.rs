//! SPEC section D, the Green Halo zone: the ring outside each conservation
//! area (default 0-5 km) where farming presses on the forest. Parcels in it
//! weigh more; roads in it need safeguards.

use gdal::vector::ToGdal;

use crate::config::HaloParams;
use crate::error::{Error, Result};
use crate::inputs::Inputs;
use crate::kernels::distance::edt;

#[derive(Debug, Clone)]
pub struct Halo {
    /// Outer distance of the ring, metres.
    pub distance_m: f64,
    /// One ring per conservation area (index into `Inputs::conservation`),
    /// outside every conservation area and inside the AOI.
    pub rings: Vec<(usize, geo::MultiPolygon<f64>)>,
    /// Distance from each cell centre to the nearest conservation cell, m.
    pub dist_to_conservation_m: Vec<f32>,
    /// 1 for cells in the halo ring (outside areas, within the distance).
    pub mask: Vec<u8>,
}

impl Halo {
    pub fn in_halo(&self, cell: usize) -> bool {
        self.mask[cell] == 1
    }
}

fn to_multipolygon(g: &gdal::vector::Geometry) -> Result<geo::MultiPolygon<f64>> {
    let gg = g.to_geo().map_err(|e| Error::output("halo", e))?;
    Ok(match gg {
        geo::Geometry::Polygon(p) => geo::MultiPolygon(vec![p]),
        geo::Geometry::MultiPolygon(m) => m,
        geo::Geometry::GeometryCollection(gc) => geo::MultiPolygon(
            gc.0.into_iter()
                .flat_map(|g| match g {
                    geo::Geometry::Polygon(p) => vec![p],
                    geo::Geometry::MultiPolygon(m) => m.0,
                    _ => vec![],
                })
                .collect(),
        ),
        _ => geo::MultiPolygon(vec![]),
    })
}

pub fn compute(inp: &Inputs, p: &HaloParams) -> Result<Halo> {
    let d = p.distance_km * 1000.0;
    let g = &inp.grid;
    let inside: Vec<bool> = inp.conservation_id.iter().map(|c| *c > 0).collect();
    let dist = edt(&inside, g.width, g.height, g.res);
    let mask = dist
        .iter()
        .zip(&inside)
        .zip(&inp.aoi_mask)
        .map(|((dd, ins), aoi)| (!ins && *aoi == 1 && (*dd as f64) <= d) as u8)
        .collect();

    // Rings as polygons, through GEOS (GDAL's buffer and difference).
    let err = |e: gdal::errors::GdalError| Error::output("halo", e);
    let mut all: Option<gdal::vector::Geometry> = None;
    for c in &inp.conservation {
        let gg = c.geom.to_gdal().map_err(err)?;
        all = Some(match all {
            None => gg,
            Some(a) => a.union(&gg).unwrap_or(a),
        });
    }
    let aoi = inp.aoi.to_gdal().map_err(err)?;
    let mut rings = Vec::new();
    if let Some(all) = all {
        for (k, c) in inp.conservation.iter().enumerate() {
            let gg = c.geom.to_gdal().map_err(err)?;
            // 16 segments per quarter circle keep the ring within 0.2% of
            // the true distance.
            let buf = gg.buffer(d, 16).map_err(err)?;
            let ring = buf.difference(&all).and_then(|r| r.intersection(&aoi));
            if let Some(r) = ring {
                if !r.is_empty() {
                    rings.push((k, to_multipolygon(&r)?));
                }
            }
        }
    }
    Ok(Halo {
        distance_m: d,
        rings,
        dist_to_conservation_m: dist,
        mask,
    })
}
