/** The status page's stylesheet, inlined (no external assets). State colours are keyed on `data-state`. */
export const STATUS_CSS = `
:root{--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--bg:#fff;--card:#f6f8fa;--running:#1a7f37;--starting:#9a6700;
--stopping:#9a6700;--sleeping:#59636e;--idle:#818b98;--failed:#cf222e;--cold:#0969da;--wake:#bc4c00}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--muted:#9198a1;--line:#3d444d;--bg:#0d1117;--card:#151b23;
--running:#3fb950;--starting:#d29922;--stopping:#d29922;--sleeping:#9198a1;--idle:#656c76;--failed:#f85149;--cold:#4493f8;--wake:#f0883e}}
*{box-sizing:border-box}
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;padding:1rem;color:var(--fg);background:var(--bg)}
header{display:flex;flex-wrap:wrap;align-items:baseline;gap:.5rem 1rem;margin-bottom:1rem}
h1{font-size:1.25rem;margin:0}h2{font-size:1rem;margin:0 0 .5rem}
.pill{display:inline-block;padding:.05rem .5rem;border-radius:1rem;background:var(--card);border:1px solid var(--line)}
#live-indicator::before{content:"";display:inline-block;width:.6rem;height:.6rem;border-radius:50%;margin-right:.35rem;background:var(--idle)}
body[data-live=live] #live-indicator::before{background:var(--running)}
body[data-live=reconnecting] #live-indicator::before{background:var(--failed)}
#draining[hidden],#store-unavailable[hidden]{display:none}#draining,#store-unavailable{color:var(--failed);font-weight:600}
tr[data-self=true] td{font-weight:600}.self-mark{margin-left:.5rem;padding:0 .4rem;border-radius:1rem;font-size:.75rem;
font-weight:500;color:var(--bg);background:var(--running)}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(18rem,1fr));gap:1rem;margin-bottom:1rem}
section{background:var(--card);border:1px solid var(--line);border-radius:.5rem;padding:.75rem;min-width:0}
#totals{display:grid;grid-template-columns:repeat(auto-fit,minmax(7rem,1fr));gap:.5rem;margin:0}
#totals div{display:flex;flex-direction:column}#totals dt{color:var(--muted);font-size:.8rem}#totals dd{margin:0;font-size:1.3rem;font-weight:600}
#config{display:grid;grid-template-columns:auto 1fr;gap:.1rem .75rem;margin:0;font-size:.85rem}
#config dt{color:var(--muted)}#config dd{margin:0;overflow-wrap:anywhere}
canvas{width:100%;height:9rem;display:block}
.legend{font-size:.8rem;color:var(--muted)}.legend b.cold{color:var(--cold)}.legend b.wake{color:var(--wake)}
table{border-collapse:collapse;width:100%}
th,td{padding:.35rem .5rem;border-bottom:1px solid var(--line);text-align:left;white-space:nowrap}
th{color:var(--muted);font-weight:500;font-size:.85rem}
td[data-field=state]{font-weight:600}
tr[data-state] td[data-field=state]::before{content:"\\25CF  ";}
tr[data-state=running] td[data-field=state]{color:var(--running)}tr[data-state=starting] td[data-field=state]{color:var(--starting)}
tr[data-state=stopping] td[data-field=state]{color:var(--stopping)}tr[data-state=sleeping] td[data-field=state]{color:var(--sleeping)}
tr[data-state=idle] td[data-field=state]{color:var(--idle)}tr[data-state=failed] td[data-field=state]{color:var(--failed)}
#feed{list-style:none;margin:0;padding:0;max-height:18rem;overflow:auto;font-size:.85rem}
#feed li{padding:.2rem 0;border-bottom:1px solid var(--line)}#feed time{color:var(--muted);margin-right:.5rem}
#feed li[data-kind=failed],#feed li[data-kind=reload_failed]{color:var(--failed)}#feed li[data-kind=rejected]{color:var(--starting)}
#feed li[data-kind=started]{color:var(--cold)}#feed li[data-kind=woke]{color:var(--wake)}
.muted{color:var(--muted)}
@media (max-width:640px){
  body{padding:.5rem}
  #instances thead{display:none}
  #instances tr{display:grid;grid-template-columns:1fr 1fr;border-bottom:1px solid var(--line);padding:.4rem 0}
  #instances td{border:0;padding:.1rem .25rem;white-space:normal}
  #instances td::after{content:attr(data-label);display:block;color:var(--muted);font-size:.75rem}
  #instances td[data-field=id]{grid-column:1/-1;font-weight:600}
}
.wide{margin-bottom:1rem;overflow-x:auto}#login-error{color:var(--failed);font-weight:600}
form{display:flex;flex-wrap:wrap;gap:.5rem}input{font:inherit;padding:.4rem;min-width:16rem}button{font:inherit;padding:.4rem .8rem}
`;
