//! A HiGHS found through pkg-config (see Cargo.toml) is a static C++
//! library whose .pc file names no C++ runtime: link it here, as highs-sys
//! does when it builds HiGHS itself.
fn main() {
    println!("cargo:rustc-link-lib=stdc++");
}
