// Package workdays is the calendar of working days in China: weekends, public holidays and the
// weekend days made working days in exchange (调休), for the deadlines of rectifications (整改时限),
// which local rules give in working days.
//
// The national calendar of 2016..2027 is generated into china_gen.go from the npm package
// chinese-days (see SourcePackage, SourceVersion, SourceLicense; regenerate with
// ./internal/workdays/gen). A year the source does not list yet (the State Council publishes each
// year's arrangement in the autumn before) has only weekends as days off until it is regenerated;
// Covered tells which years are listed. Local rules add days off or working days on top (Rules).
//
// Days are calendar days in China Standard Time (UTC+8, no daylight saving time). Every function is
// pure: deadlines and overdue status are computed against a time the caller passes, the event-time
// watermark, never the wall clock.
package workdays
