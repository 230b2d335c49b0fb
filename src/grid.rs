//! The analysis grid: a metric CRS, a cell size and an extent snapped to it.
//! Rasters are `Vec<T>` indexed `row * width + col`, row 0 at the north.

use serde::Serialize;

/// A north-up grid in a metric CRS.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Grid {
    /// The CRS as the user or greenhalo named it ("EPSG:32718").
    pub crs: String,
    /// West edge (x of column 0's left side), CRS units (metres).
    pub x_min: f64,
    /// North edge (y of row 0's top side).
    pub y_max: f64,
    /// Cell size, metres.
    pub res: f64,
    pub width: usize,
    pub height: usize,
}

impl Grid {
    /// The grid covering `[x_min, x_max] x [y_min, y_max]` with edges snapped
    /// outward to multiples of `res`, so grids of one CRS and resolution line
    /// up across landscapes.
    pub fn snapped(crs: &str, res: f64, x_min: f64, y_min: f64, x_max: f64, y_max: f64) -> Grid {
        let x0 = (x_min / res).floor() * res;
        let y0 = (y_min / res).floor() * res;
        let x1 = (x_max / res).ceil() * res;
        let y1 = (y_max / res).ceil() * res;
        Grid {
            crs: crs.to_string(),
            x_min: x0,
            y_max: y1,
            res,
            width: (((x1 - x0) / res).round() as usize).max(1),
            height: (((y1 - y0) / res).round() as usize).max(1),
        }
    }

    pub fn len(&self) -> usize {
        self.width * self.height
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn x_max(&self) -> f64 {
        self.x_min + self.width as f64 * self.res
    }

    pub fn y_min(&self) -> f64 {
        self.y_max - self.height as f64 * self.res
    }

    /// GDAL geotransform of the grid.
    pub fn geo_transform(&self) -> [f64; 6] {
        [self.x_min, self.res, 0.0, self.y_max, 0.0, -self.res]
    }

    /// Area of one cell, hectares.
    pub fn cell_area_ha(&self) -> f64 {
        self.res * self.res / 10_000.0
    }

    /// Centre of cell (col, row) in grid CRS coordinates.
    pub fn cell_center(&self, col: usize, row: usize) -> (f64, f64) {
        (
            self.x_min + (col as f64 + 0.5) * self.res,
            self.y_max - (row as f64 + 0.5) * self.res,
        )
    }

    /// The cell holding point (x, y), if it is inside the grid.
    pub fn cell_of(&self, x: f64, y: f64) -> Option<(usize, usize)> {
        let c = ((x - self.x_min) / self.res).floor();
        let r = ((self.y_max - y) / self.res).floor();
        if c < 0.0 || r < 0.0 || c >= self.width as f64 || r >= self.height as f64 {
            None
        } else {
            Some((c as usize, r as usize))
        }
    }

    pub fn index(&self, col: usize, row: usize) -> usize {
        row * self.width + col
    }

    /// The grid's geometry for the kernels (which know no CRS).
    pub fn geom(&self) -> crate::kernels::lines::GridGeom {
        crate::kernels::lines::GridGeom {
            x_min: self.x_min,
            y_max: self.y_max,
            res: self.res,
            width: self.width,
            height: self.height,
        }
    }
}

/// EPSG code of the WGS 84 / UTM zone holding (lon, lat).
///
/// ```
/// // Moyobamba, Peru: zone 18 south.
/// assert_eq!(greenhalo::grid::utm_epsg(-76.97, -6.03), 32718);
/// // Quito sits just south of the equator in zone 17.
/// assert_eq!(greenhalo::grid::utm_epsg(-78.5, -0.2), 32717);
/// ```
pub fn utm_epsg(lon: f64, lat: f64) -> u32 {
    let zone = (((lon + 180.0) / 6.0).floor() as i64).clamp(0, 59) as u32 + 1;
    if lat >= 0.0 {
        32600 + zone
    } else {
        32700 + zone
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extent_snaps_outward_to_the_resolution() {
        let g = Grid::snapped(
            "EPSG:32718",
            100.0,
            250_030.0,
            9_300_010.0,
            250_950.0,
            9_300_990.0,
        );
        assert_eq!(g.x_min, 250_000.0);
        assert_eq!(g.y_max, 9_301_000.0);
        assert_eq!(g.width, 10);
        assert_eq!(g.height, 10);
        assert_eq!(g.cell_center(0, 0), (250_050.0, 9_300_950.0));
        assert_eq!(g.cell_of(250_050.0, 9_300_950.0), Some((0, 0)));
        assert_eq!(g.cell_of(251_000.0, 9_300_950.0), None);
        assert_eq!(g.cell_of(250_999.0, 9_300_001.0), Some((9, 9)));
    }
}
