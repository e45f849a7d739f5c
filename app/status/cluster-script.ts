/**
 * The status page's cluster part (plain browser JS, spliced into STATUS_SCRIPT's scope, where `$` and `el` live):
 * the gateway serving the page, the routing store's kind and availability, the cluster's gateways with the one
 * serving the page marked, and the text of an instance's sessions by gateway. Without template literals, as
 * script.ts.
 */
export const CLUSTER_SCRIPT = String.raw`
  var GATEWAY_FIELDS = [["id", "gateway"], ["sessions", "sessions"], ["lastSeen", "last seen"], ["address", "address"]];

  function byGatewayText(counts) {
    var ids = Object.keys(counts || {}).sort();
    return ids.length === 0 ? "-" : ids.map(function (id) { return id + " " + counts[id]; }).join(", ");
  }

  function seenText(ms, self) {
    if (self) return "now";
    return ms < 1000 ? Math.round(ms) + " ms ago" : (ms / 1000).toFixed(1) + " s ago";
  }

  function renderCluster(snap) {
    var store = snap.store;
    $("gateway").textContent = snap.gateway;
    $("store-kind").textContent = store.kind;
    $("store-unavailable").hidden = store.available;
    body.setAttribute("data-store", store.available ? "available" : "unavailable");
    var tbody = document.querySelector("#gateways tbody");
    tbody.textContent = "";
    snap.gateways.forEach(function (g) {
      var self = g.id === snap.gateway;
      var tr = el("tr", { "data-gateway-id": g.id, "data-self": self ? "true" : "false" });
      var values = { id: g.id, sessions: String(g.sessions), lastSeen: seenText(g.lastSeenMs, self), address: g.address || "-" };
      GATEWAY_FIELDS.forEach(function (f) { tr.appendChild(el("td", { "data-field": f[0], "data-label": f[1] }, values[f[0]])); });
      if (self) tr.querySelector('[data-field="id"]').appendChild(el("span", { "class": "self-mark" }, "this page"));
      tbody.appendChild(tr);
    });
    $("gateways-count").textContent = String(snap.gateways.length);
  }
`;
