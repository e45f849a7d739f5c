/** The plain-text table of `npm run containers -- list`: one aligned line per container, "-" for what is unknown. */
import type { ContainerRow } from "./rows.ts";

const HEADERS = ["INSTANCE", "CONTAINER", "GATEWAY", "STATE", "WHERE", "AGE"];

/** `42s`, `3m 5s`, `2h 10m`, `4d 3h`. */
export function formatAge(ageS: number | null): string {
  if (ageS === null) return "-";
  if (ageS < 60) return `${ageS}s`;
  if (ageS < 3600) return `${Math.floor(ageS / 60)}m ${ageS % 60}s`;
  if (ageS < 86_400) return `${Math.floor(ageS / 3600)}h ${Math.floor((ageS % 3600) / 60)}m`;
  return `${Math.floor(ageS / 86_400)}d ${Math.floor((ageS % 86_400) / 3600)}h`;
}

/** Where it runs: the endpoint, after the engine host's name when there are several hosts. */
function where(row: ContainerRow): string {
  const endpoint = row.endpoint ?? "-";
  return row.host ? `${row.host} ${endpoint}` : endpoint;
}

/** Engine ids are 64 hex digits; 12 tell them apart, as `podman ps` shows them. */
function shortId(id: string | null): string {
  if (id === null) return "-";
  return /^[0-9a-f]{64}$/.test(id) ? id.slice(0, 12) : id;
}

/** The table, header first; columns padded to their widest cell. */
export function formatTable(rows: ContainerRow[]): string {
  const cells = rows.map((row) => [
    row.instanceId,
    shortId(row.containerId),
    row.gateway ?? "-",
    row.state,
    where(row),
    formatAge(row.ageS),
  ]);
  const widths = HEADERS.map((header, i) => Math.max(header.length, ...cells.map((line) => line[i]!.length)));
  return [HEADERS, ...cells]
    .map((line) => line.map((cell, i) => (i === line.length - 1 ? cell : cell.padEnd(widths[i]!))).join("  "))
    .join("\n");
}
