// Package scenario generates the deterministic sample scenario of govpulse and
// synthetic event streams for benchmarks.
//
// [Generate] builds a realistic stream for all 32 assessed units from the
// published facts of the 2017 assessment report (the 2016 results): the top
// ten in order (Zhejiang, Guizhou, Jiangsu, Shanghai, Fujian, Jiangxi,
// Shandong, Gansu, Guangdong, Chongqing), 27 units with an integrated
// platform, and platforms that reach four levels in 3 units, three in 8, two
// in 3, the provincial departments only in 15 and none in 3. The report gives
// only those facts; every other number is the scenario's choice and is listed
// in [Units].
//
// The scenario is built backwards from the scoring method: each unit has a
// target composite, and the catalogue, services, guide audits, ratings and
// applications are counted out so that the method's sub-indices land on
// targets that add up to it. The targets are spaced so that the final
// ranking keeps its order whatever the seed: the seed decides details (which
// items, modes and guide elements, the event times), never the counts.
//
// [Stream] produces an arbitrary number of valid mixed events for benchmarks.
//
// Everything here is pure and deterministic: no wall clock, no map iteration
// order, no global state. The functions are safe for concurrent use.
package scenario
