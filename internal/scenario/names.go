package scenario

// serviceNames returns the names given to catalogue items: common services
// of provincial service catalogues.
func serviceNames() []string {
	return []string{
		"企业设立登记", "个体工商户注册登记", "建设工程规划许可证核发", "社会保险登记",
		"基本医疗保险异地就医备案", "往来港澳通行证签注", "不动产登记", "机动车驾驶证换证",
		"住房公积金提取", "生育服务登记", "居住证申领", "食品经营许可",
		"药品经营许可证核发", "纳税人税务登记", "残疾人证办理", "高龄津贴申领",
		"教师资格认定", "医师执业注册", "婚姻登记预约", "户口迁移",
		"道路运输经营许可", "排污许可证核发", "职业资格证书查询", "失业保险金申领",
		"城乡居民养老保险参保登记", "出生医学证明办理", "危险化学品经营许可", "律师执业许可",
	}
}

// departments returns the departments that offer the items.
func departments() []string {
	return []string{
		"市场监督管理局", "人力资源和社会保障厅", "公安厅", "住房和城乡建设厅",
		"国土资源厅", "卫生和计划生育委员会", "教育厅", "民政厅",
		"地方税务局", "交通运输厅", "环境保护厅", "司法厅",
	}
}
