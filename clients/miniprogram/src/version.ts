/**
 * Versions, semver both (docs/miniprogram.md, "Versions"). `check-drift` fails when
 * SDK_VERSION is not package.json's or has no CHANGELOG.md entry, or when API_VERSION is not
 * the OpenAPI document's `info.version`.
 */

/** This SDK's version (package.json). */
export const SDK_VERSION = "1.2.0";

/** The API version the SDK's types were generated from (`info.version`, `/config` api_version). */
export const API_VERSION = "1.2.0";

/**
 * Whether a server of `serverVersion` (`config.api_version`) serves everything this SDK calls:
 * the same major, and at least the minor the types were made from.
 */
export function isApiCompatible(serverVersion: string): boolean {
  const [major, minor] = serverVersion.split(".").map(Number);
  const [ourMajor, ourMinor] = API_VERSION.split(".").map(Number);
  if (major === undefined || minor === undefined || !Number.isFinite(major + minor)) return false;
  return major === ourMajor && minor >= (ourMinor ?? 0);
}
