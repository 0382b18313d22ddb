package armo_builtins

import rego.v1

# Every container registry repository should scan its images for vulnerabilities.

deny contains msga if {
	some obj in input
	obj.kind == "DescribeRepositories"
	startswith(obj.apiVersion, "eks.amazonaws.com/")
	some repo in as_array(obj.data.Repositories)
	not repo.ImageScanningConfiguration.ScanOnPush == true
	msga := {
		"alertMessage": "Image scanning on push is not enabled for every ECR repository",
		"alertScore": 3,
		"failedPaths": [],
		"fixPaths": [],
		"fixCommand": "aws ecr put-image-scanning-configuration --repository-name $REPO_NAME --image-scanning-configuration scanOnPush=true --region $REGION_CODE",
		"ruleStatus": "",
		"packagename": "armo_builtins",
		"alertObject": {"externalObjects": obj},
	}
}

deny contains msga if {
	some obj in input
	obj.kind == "DescribeRepositories"
	startswith(obj.apiVersion, "container.googleapis.com/")
	some registry in as_array(obj.data.registries)
	registry.format == "DOCKER"
	not registry.vulnerabilityScanningConfig.enableVulnerabilityScanning == true
	msga := {
		"alertMessage": "Vulnerability scanning is not enabled for every Artifact Registry repository",
		"alertScore": 3,
		"failedPaths": [],
		"fixPaths": [],
		"fixCommand": "gcloud services enable containerscanning.googleapis.com",
		"ruleStatus": "",
		"packagename": "armo_builtins",
		"alertObject": {"externalObjects": obj},
	}
}

# The APIs report missing lists as null.
as_array(x) := x if is_array(x)

as_array(x) := [] if not is_array(x)
