use trailscan_integrity::manifest::Manifest;
use trailscan_integrity::store::parse_sidecar;

/// The two files `trailscan acquire` writes into an evidence copy, read back: a digest's
/// metadata sidecar and the copy's manifest. A manifest that reads must read the same after
/// being written again (a resumed copy rewrites it).
pub fn sidecar_manifest(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = parse_sidecar(text);
    if let Ok(manifest) = Manifest::parse(text) {
        assert_eq!(Manifest::parse(&manifest.to_text()).as_ref(), Ok(&manifest));
    }
}
