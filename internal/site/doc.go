// Package site is govpulse's public, read-only web site: the live ranking page, a page per unit
// with its history, a drill-down page per unit with the rankings of the units under it, and the
// JSON read API behind them (docs/api.md).
//
// One [Server] per process holds the latest ranking, the latest score of every unit and the latest
// ranking of every group of units (internal/groups) in memory. It fills them from the latest-value
// bucket (govpulse_latest: keys "ranking", "scores.<region>" and "group.<group>") at start and every
// Config.Resync, and keeps them current through core NATS subscriptions (<prefix>.rankings,
// <prefix>.scores.* and <prefix>.grouprankings.*), whatever the number of browsers. A stream client
// gets the scores of the provincial units or of the one unit it names, and the rankings of the
// groups it names. Every
// new ranking or score is encoded once as a Server-Sent Event whose id is its version and handed
// to each connected stream client through a bounded buffer; a client whose buffer is full is
// dropped (it reconnects with Last-Event-ID and first gets the current state), so a slow reader
// never slows the others. History and recent events are read from ClickHouse (internal/chstore).
//
// The pages and their scripts and styles are embedded (web/), served with a Content-Security-Policy
// that allows only the site's own files: no inline script or style, no other origin. Every text
// that comes from events is set with textContent. Only GET and HEAD are answered; /api is rate
// limited per client address.
package site
