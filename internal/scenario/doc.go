// Package scenario generates the deterministic sample scenarios of govpulse
// (the 2016 results of the 2017 report, and the 2019 results of the 2020
// report) and synthetic event streams for benchmarks.
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
// [Generate2019] builds the 2019 scenario: a year of portal changes and user
// experience of the 31 provinces and the 32 key cities, whose final
// composites under [Method2019] (method 2022) equal exactly the composites
// the 2020 report published for their 2019 data ([Report2019]). The 2020
// report scores the five dimensions of method 2022 (在线服务成效度, 在线办理成熟度,
// 服务方式完备度, 服务事项覆盖度, 办事指南准确度), not the four sub-indices of method 2017,
// so the figures are reproduced under the method whose structure is the
// report's; its weights are govpulse's own (the report publishes none), so
// the dimensions behind each figure are the scenario's choice, the composite
// is the report's. Each unit's counts are drawn near its figure from sizes
// that make every term of the method an exact decimal,
// then a few counts are moved by the method's fixed steps until the
// composite is the figure to the micro-unit: units tied in the report are
// tied here and rank by code. The Xinjiang Production and Construction
// Corps, which the report gives no figure for, has no events and ranks last
// among the provincial units, as every unit without events does.
//
// [Stream] produces an arbitrary number of valid mixed events for benchmarks.
//
// Everything here is pure and deterministic: no wall clock, no map iteration
// order, no global state. The functions are safe for concurrent use.
package scenario
