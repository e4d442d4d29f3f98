# Runs the export from Terraform whenever jobs.yaml (or the export's
# version) changes: terraform_data is built into Terraform, so this needs
# no provider download. A second apply with nothing changed runs nothing.
terraform {
  required_version = ">= 1.4"
}

variable "config" {
  description = "The jobs.yaml to export with."
  type        = string
  default     = "jobs.yaml"
}

variable "export_command" {
  description = "How to start the export: an installed binary, or `go run` of a checkout."
  type        = string
  default     = "export"
}

locals {
  config_sha256 = filesha256("${path.module}/${var.config}")
}

resource "terraform_data" "export" {
  # A new jobs.yaml (or command) replaces the resource, which runs the
  # export again; an unchanged one leaves it be.
  triggers_replace = [local.config_sha256, var.export_command]
  input            = local.config_sha256

  provisioner "local-exec" {
    working_dir = path.module
    # The summary goes to a file Terraform can read back; a failed job
    # exits 1 and fails the apply.
    command = "${var.export_command} run -c ${var.config} --output json > export-summary.json"
  }
}

output "config_sha256" {
  description = "The jobs.yaml the last export ran with."
  value       = terraform_data.export.output
}
