output "bucket" {
  description = "The output and state bucket."
  value       = aws_s3_bucket.export.bucket
}

output "kms_key_arn" {
  description = "The key that encrypts it; jobs.yaml may name it in s3.kms_key_id."
  value       = aws_kms_key.export.arn
}

output "task_role_arn" {
  description = "The role the export runs as."
  value       = aws_iam_role.task.arn
}
